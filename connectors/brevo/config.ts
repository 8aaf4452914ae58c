import { z } from 'zod';

/** Brevo's documented ceiling for an import `jsonBody` is 10 MB; it recommends staying near 8 MB. */
export const IMPORT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** How the connector names a contact at Brevo, and the `identifierType` each uses in URLs. */
export const IDENTIFIERS = {
  email: 'email_id',
  ext_id: 'ext_id',
  sms: 'phone_id',
} as const;
export type IdentifierKind = keyof typeof IDENTIFIERS;

const listIds = z.array(z.number().int().positive('expected a Brevo list id (a positive integer)'));

/**
 * Config of the `brevo` destination (one block per destination in YAML).
 *
 * `apiKey` is a secret: it is listed in `spec.secrets`, sent only in the
 * `api-key` header to `baseUrl`, and never appears in errors or `check` messages.
 */
export const brevoConfigSchema = z.strictObject({
  apiKey: z.string().min(1, 'expected a Brevo API key (xkeysib-...); use ${BREVO_API_KEY}').describe('Brevo API v3 key. Secret: use ${BREVO_API_KEY} or ${file:...}.'),
  baseUrl: z
    .url({ message: 'expected an http(s) URL such as https://api.brevo.com/v3' })
    .default('https://api.brevo.com/v3')
    .transform((u) => u.replace(/\/+$/, ''))
    .describe('API root, ending in /v3. Change it only for a proxy or a test server.'),
  identifier: z
    .enum(['email', 'ext_id', 'sms'])
    .default('email')
    .describe(
      'What names a contact at Brevo. email: the profile\'s email identifier (traits.email as fallback); ' +
        'ext_id: the Tributary profile id; sms: the profile\'s phone (E.164, with +).',
    ),
  consentPurposes: z
    .object({ email: z.string().min(1).default('email_marketing'), sms: z.string().min(1).default('sms_marketing') })
    .strict()
    .prefault({})
    .describe('Consent purposes (mapping.consent in the sources) that set emailBlacklisted / smsBlacklisted: false blocklists, true lifts it, absent leaves Brevo alone.'),
  sendExtId: z
    .boolean()
    .default(true)
    .describe('Also send the profile id as the contact\'s ext_id (when the identifier is email or sms), so Brevo contacts can be traced back to profiles.'),
  listIds: listIds.default([]).describe('Lists every delivered contact is added to. The import path needs at least one.'),
  unlinkListIds: listIds.default([]).describe('Lists every delivered contact is removed from (single-contact path only; see README).'),
  importThreshold: z
    .number()
    .int()
    .min(2)
    .default(100)
    .describe('A batch with at least this many importable upserts goes through POST /contacts/import; smaller ones are sent contact by contact.'),
  importPollIntervalMs: z
    .number()
    .int()
    .min(10)
    .default(36_000)
    .describe('Wait between two GET /processes/{id} polls. That endpoint allows 100 requests per hour: 36 s keeps one import within budget.'),
  importTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(15 * 60_000)
    .describe('An import not completed within this time is reported retryable for all its contacts (re-importing is idempotent).'),
  emptyContactsAttributes: z
    .boolean()
    .default(false)
    .describe('Import path: let empty values erase attributes Brevo holds (Brevo\'s emptyContactsAttributes).'),
  timeoutMs: z.number().int().min(100).default(30_000).describe('Timeout of one HTTP request; a timeout is retryable.'),
  concurrency: z.number().int().min(1).max(16).default(4).describe('Single-contact requests in flight at once (the rate budget still paces them).'),
});

export type BrevoConfig = z.infer<typeof brevoConfigSchema>;
