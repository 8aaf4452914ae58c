import { z } from 'zod';
import { decodeSecret } from './config.js';

const secret = z.string().min(1, 'expected the shared secret; use ${ENV} or ${file:...}');
/**
 * One secret, or up to three while the sender's secret is rotated (the new one
 * and the old ones): a request signed with any of them is accepted. Always a
 * list after parsing.
 */
const secrets = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z
    .array(secret, { error: 'expected the shared secret, or a list of up to 3; use ${ENV} or ${file:...}' })
    .min(1, 'expected at least one secret')
    .max(3, 'at most 3 secrets (the new one and the ones being retired)'),
);
const tolerance = z
  .number()
  .int()
  .min(1)
  .max(3600)
  .default(300)
  .describe('Refuse a request whose signed timestamp is further than this from now, either side (replay protection). Default 300 s.');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a header name such as X-Signature');

/**
 * How a webhook source checks that a request comes from its sender. One
 * scheme per source; every secret here is listed in `spec.secrets` and never
 * appears in responses, errors or logs.
 */
export const verifySchema = z.discriminatedUnion(
  'scheme',
  [
    z
      .strictObject({
        scheme: z.literal('standard-webhooks'),
        secret: secrets.describe('whsec_ + base64 of 24 to 64 bytes, or a list of up to 3 during a rotation. Secret.'),
        toleranceSeconds: tolerance,
      })
      .superRefine((v, ctx) => {
        v.secret.forEach((one, i) => {
          const key = decodeSecret(one);
          if (typeof key === 'string') ctx.addIssue({ code: 'custom', path: v.secret.length > 1 ? ['secret', i] : ['secret'], message: key });
        });
      }),
    z.strictObject({
      scheme: z.literal('stripe'),
      secret: secrets.describe("The endpoint's signing secret (whsec_...), used as text; a list of up to 3 during a rotation. Secret."),
      toleranceSeconds: tolerance,
    }),
    z.strictObject({ scheme: z.literal('shopify'), secret: secrets.describe("The app's client secret; a list of up to 3 during a rotation. Secret.") }),
    z.strictObject({
      scheme: z.literal('hmac-sha256'),
      secret: secrets.describe('HMAC key, as text; a list of up to 3 during a rotation. Secret.'),
      header: headerName.describe('Header carrying the signature, e.g. X-Hub-Signature-256.'),
      encoding: z.enum(['hex', 'base64']).default('hex'),
      prefix: z.string().default('').describe('Text before the signature in the header, e.g. "sha256=".'),
    }),
    z.strictObject({ scheme: z.literal('bearer'), token: secret.describe('Expected in Authorization: Bearer <token>. Secret.') }),
    z.strictObject({
      scheme: z.literal('basic'),
      username: z.string().min(1, 'expected a user name'),
      password: secret.describe('Secret.'),
    }),
  ],
  { error: () => 'expected scheme: standard-webhooks, stripe, shopify, hmac-sha256, bearer or basic' },
);
export type VerifyConfig = z.infer<typeof verifySchema>;

/** Config of a `webhook` source: one block per source in YAML, one endpoint `POST /hooks/<source name>`. */
export const webhookSourceConfigSchema = z.strictObject({
  verify: verifySchema,
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(32 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest request body accepted (after gzip is undone); larger: 413. Default 1 MiB.'),
  idHeader: headerName
    .optional()
    .describe('Header holding the sender\'s message id, for de-duplication. Default: webhook-id (standard-webhooks), X-Shopify-Webhook-Id (shopify).'),
  idField: z
    .string()
    .min(1)
    .optional()
    .describe('Dotted path in the body holding the message id, when no header carries one. Default: id (stripe).'),
  pageSize: z.number().int().min(1).max(10_000).default(1000).describe('Inbox rows read per page when draining; a state is saved after each page.'),
  maxPerRun: z
    .number()
    .int()
    .min(1)
    .default(100_000)
    .describe('A drain stops after this many events so a run ends under constant load; the next run continues from the checkpoint.'),
});
export type WebhookSourceConfig = z.infer<typeof webhookSourceConfigSchema>;

/**
 * Per-stream options. `consentFrom` exists because an unsubscribe webhook
 * carries no yes/no field for `mapping.consent` to read: it turns an event
 * type into one (`as`, default `consent`): false for `withdraw` values, true
 * for `grant` values, absent otherwise (so other events leave consent alone).
 */
export const webhookStreamConfigSchema = z.strictObject({
  recordSelector: z
    .string()
    .min(1)
    .optional()
    .describe('Dotted path to an array in the body: each element becomes one record (dedup key <id>#<index>). A body that is itself an array is split without it.'),
  consentFrom: z
    .strictObject({
      field: z.string().min(1).describe('Dotted path of the event type, e.g. event.'),
      withdraw: z.array(z.string().min(1)).default([]).describe('Values that set the field `as` to false, e.g. [unsubscribed, hardBounce, spam].'),
      grant: z.array(z.string().min(1)).default([]).describe('Values that set it to true, e.g. [listAddition].'),
      as: z.string().min(1).default('consent').describe('Name of the added field; map it with mapping.consent: { email_marketing: consent }.'),
    })
    .refine((c) => c.withdraw.length + c.grant.length > 0, { message: 'expected at least one value in withdraw or grant' })
    .optional(),
});
export type WebhookStreamConfig = z.infer<typeof webhookStreamConfigSchema>;
