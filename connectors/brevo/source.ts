import { z } from 'zod';
import type { ConnectorContext, SourceConnector } from '../../core/plugin/types.js';
import { httpConfigSchema, type HttpConfig } from '../http/config.js';
import { createHttpSource, type HttpSourceOptions } from '../http/source.js';

/**
 * Config of the `brevo` source. `apiKey` is a secret (`spec.secrets`): it is
 * sent only in the `api-key` header and never appears in errors.
 */
export const brevoSourceConfigSchema = z.strictObject({
  apiKey: z.string().min(1, 'expected a Brevo API key (xkeysib-...); use ${BREVO_API_KEY}'),
  baseUrl: z
    .url({ message: 'expected an http(s) URL such as https://api.brevo.com/v3' })
    .default('https://api.brevo.com/v3')
    .transform((u) => u.replace(/\/+$/, '')),
  pageSize: z.number().int().min(1).max(1000, 'Brevo returns at most 1000 contacts a page').default(1000),
  overlapSeconds: z
    .number()
    .min(0)
    .default(60)
    .describe('Each incremental run asks from this much before the saved cursor (clock skew, changes during a run); contacts read before are skipped.'),
  perSecond: z.number().positive().max(10, "Brevo allows 10 requests/s on /v3/contacts").default(10),
  timeoutMs: z.number().int().min(100).default(30_000),
});
export type BrevoSourceConfig = z.infer<typeof brevoSourceConfigSchema>;

/**
 * The Brevo source as a preset of the declarative `http` source: one stream,
 * `contacts` (GET /v3/contacts, offset paging, `modifiedSince` from state).
 * Brevo sorts the list by creation, not modification, so a pass reads the
 * whole window; the cursor moves to the highest `modifiedAt` only when the
 * pass ends (per-page states keep the previous bound), and never past the
 * run's start minus the overlap, so a contact changed during the pass is read
 * again next time instead of being skipped.
 */
export function brevoHttpConfig(c: BrevoSourceConfig): HttpConfig {
  return httpConfigSchema.parse({
    baseUrl: c.baseUrl,
    auth: { type: 'api_key', in: 'header', name: 'api-key', value: c.apiKey },
    rateLimit: { perSecond: c.perSecond },
    retry: { resetHeader: 'x-sib-ratelimit-reset' },
    timeoutMs: c.timeoutMs,
    streams: {
      contacts: {
        path: '/contacts',
        query: { modifiedSince: '{{ state.cursor }}', sort: 'asc' },
        recordSelector: 'contacts',
        paginator: { type: 'offset', param: 'offset', limitParam: 'limit', limit: c.pageSize, totalPath: 'count' },
        primaryKey: ['id'],
        cursorField: 'modifiedAt',
        incremental: { overlap: c.overlapSeconds, format: 'iso', untilRunStart: true },
        // Brevo says "blocklisted"; a consent mapping wants "opted in".
        derived: { emailOptIn: { not: 'emailBlacklisted' }, smsOptIn: { not: 'smsBlacklisted' } },
      },
    },
  });
}

/**
 * `emailConsent` / `smsConsent`: `false` on a blocklisted contact, absent
 * otherwise. Being off Brevo's blocklist is not a consent (every imported
 * contact is), so unlike `emailOptIn` these never state a grant: a Brevo
 * contact read after a grant made elsewhere cannot override a later
 * withdrawal with a "grant" it never had (docs/privacy.md).
 */
export function addConsentFields(data: Record<string, unknown>): void {
  if (data.emailBlacklisted === true) data.emailConsent = false;
  if (data.smsBlacklisted === true) data.smsConsent = false;
}

export function createBrevoSource(options: HttpSourceOptions = {}): SourceConnector<BrevoSourceConfig, Record<string, never>> {
  const http = createHttpSource(options);
  const asHttp = (ctx: ConnectorContext<BrevoSourceConfig>): ConnectorContext<HttpConfig> => ({ ...ctx, config: brevoHttpConfig(ctx.config) });
  return {
    id: 'brevo',
    kind: 'source',
    spec: { config: brevoSourceConfigSchema, stream: z.strictObject({}), secrets: ['apiKey'] },
    check: (ctx, streams) => http.check(asHttp(ctx), streams),
    discover: (ctx, streams) => http.discover(asHttp(ctx), streams),
    async *read(ctx, streams, state) {
      for await (const m of http.read(asHttp(ctx), streams, state)) {
        if (m.type === 'record') addConsentFields(m.data);
        yield m;
      }
    },
  };
}

export const brevoSource = createBrevoSource();
