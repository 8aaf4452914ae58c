import { z } from 'zod';

/** Hosts that may be reached over plain http without `allowInsecure`: they never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Standard Webhooks symmetric keys: 24 to 64 random bytes (192 to 512 bits). */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The key bytes of a `whsec_` secret, or a sentence saying what is wrong with it.
 * The sentence never contains the secret.
 */
export function decodeSecret(secret: string): Buffer | string {
  if (!secret.startsWith('whsec_')) return 'expected a Standard Webhooks secret: whsec_ followed by base64 (e.g. ${WEBHOOK_SECRET})';
  const b64 = secret.slice('whsec_'.length);
  if (!BASE64.test(b64) || b64.replace(/=+$/, '').length % 4 === 1) return 'the part after whsec_ is not base64';
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return `the secret decodes to ${key.length} bytes; Standard Webhooks keys are ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes`;
  }
  return key;
}

/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the connector sets itself; a configured one would break signing or framing. */
export const RESERVED_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'content-length', 'host', 'transfer-encoding', 'connection'];

/**
 * Connector config: one block per webhook destination in YAML.
 *
 * `secret` and every value of `headers` are secrets: they are listed in
 * `spec.secrets`, and the connector never puts them in errors or logs. Use
 * `${ENV}` or `${file:...}` references for them.
 */
export const webhookConfigSchema = z
  .strictObject({
    url: z
      .string()
      .min(1, 'expected the receiver URL, e.g. https://example.com/hooks/tributary')
      .describe('Where each batch is POSTed. https; http only for localhost, 127.x, ::1, or with `allowInsecure`. No user:password@ (use `headers`).'),
    secret: z
      .string()
      .min(1, 'expected a Standard Webhooks secret (whsec_...)')
      .describe('Signing secret, `whsec_` + base64 of 24 to 64 random bytes. One secret signs every request; see README "Rotating the secret". Secret.'),
    allowInsecure: z.boolean().default(false).describe('Allow a plain http URL to a host other than localhost. The signature still protects integrity, but the profiles travel unencrypted.'),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('Extra request headers (Authorization, X-Api-Key). Values are treated as secrets. Cannot override webhook-*, content-type, content-length, host.'),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(300_000)
      .default(30_000)
      .describe('Give up on one request after this long (connect, send and the answer\'s status line); the batch is then retryable. Standard Webhooks recommends 15 to 30 s.'),
  })
  .superRefine((c, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(c.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected an absolute URL such as https://example.com/hooks/tributary' });
    }
    if (url) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        ctx.addIssue({ code: 'custom', path: ['url'], message: `expected an https URL, got ${url.protocol}` });
      } else if (url.protocol === 'http:' && !c.allowInsecure && !isLoopbackHost(url.hostname)) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: `plain http to ${url.hostname} sends profiles unencrypted: use https, or set allowInsecure: true` });
      }
      if (url.username || url.password) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'credentials in the URL would end up in logs: put them in `headers` (e.g. Authorization) instead' });
      }
    }
    const key = decodeSecret(c.secret);
    if (typeof key === 'string') ctx.addIssue({ code: 'custom', path: ['secret'], message: key });
    for (const [name, value] of Object.entries(c.headers)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: ['headers', name], message: `"${name}" is not a valid header name` });
      else if (RESERVED_HEADERS.includes(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `${name} is set by the connector and cannot be configured` });
      }
      if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'a header value cannot contain line breaks' });
    }
  });

export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
