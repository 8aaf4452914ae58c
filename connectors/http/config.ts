import { z } from 'zod';
import { templateProblems } from './template.js';

/** A string that may hold `{{ state.cursor }}`, `{{ env.NAME }}` or `{{ now }}`; anything else is refused at load. */
const template = z.string().superRefine((s, ctx) => {
  for (const p of templateProblems(s)) ctx.addIssue({ code: 'custom', message: p });
});
const templates = z.record(z.string(), template);

/** Dotted path into a JSON body or a record (`data.items`, `meta.next`). Empty: the body itself. */
const dottedPath = z.string().regex(/^$|^[^.\s]+(\.[^.\s]+)*$/, 'expected a dotted path such as data.items');

const auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1, 'expected a token; use ${API_TOKEN}') }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1, 'expected a user name'), password: z.string().default('') }),
  z.strictObject({
    type: z.literal('api_key'),
    name: z.string().min(1, 'expected the header or query parameter name, e.g. X-Api-Key'),
    value: z.string().min(1, 'expected the key; use ${API_KEY}'),
    in: z.enum(['header', 'query']).default('header'),
  }),
  z.strictObject({
    type: z.literal('oauth2_client_credentials'),
    tokenUrl: z.url({ message: 'expected the token endpoint URL' }),
    clientId: z.string().min(1, 'expected a client id'),
    clientSecret: z.string().min(1, 'expected a client secret; use ${CLIENT_SECRET}'),
    scope: z.string().min(1).optional(),
    credentialsIn: z.enum(['body', 'basic']).default('body').describe('Send the client id and secret in the form body or as HTTP basic auth.'),
  }),
]);

/**
 * How to ask for the next page. Every paginator also stops on an empty page.
 * - `page`: `param` = start, start+1, ...; stops on a page shorter than `size` (when set) or past `totalPath`.
 * - `offset`: `param` = 0, limit, 2*limit, ... with `limitParam` = limit; stops on a short page or past `totalPath`.
 * - `cursor`: `param` = the token found at `path` in the last body; stops when it is missing or empty.
 * - `next_url`: GET the URL found at `path` in the last body; stops when it is missing.
 * - `link`: follow the `Link: <...>; rel="next"` header; stops when there is none.
 */
const paginator = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('page'),
    param: z.string().min(1).default('page'),
    start: z.number().int().min(0).default(1),
    sizeParam: z.string().min(1).optional(),
    size: z.number().int().min(1).optional(),
    totalPath: dottedPath.optional().describe('Body path of the total number of records (stops once that many were read).'),
  }),
  z.strictObject({
    type: z.literal('offset'),
    param: z.string().min(1).default('offset'),
    limitParam: z.string().min(1).default('limit'),
    limit: z.number().int().min(1).default(100),
    totalPath: dottedPath.optional(),
  }),
  z.strictObject({ type: z.literal('cursor'), param: z.string().min(1).default('cursor'), path: dottedPath.min(1, 'expected the body path of the next token') }),
  z.strictObject({ type: z.literal('next_url'), path: dottedPath.min(1, 'expected the body path of the next URL') }),
  z.strictObject({ type: z.literal('link') }),
]);

const incremental = z.strictObject({
  start: z.union([z.string(), z.number()]).optional().describe('`{{ state.cursor }}` on the first run; without it, parameters using it are left out.'),
  overlap: z
    .number()
    .min(0)
    .default(0)
    .describe('Re-read this far below the saved cursor (seconds for date cursors, units for numbers); records read before are skipped by key.'),
  format: z
    .enum(['as_read', 'iso'])
    .default('as_read')
    .describe('How `{{ state.cursor }}` is written: as the API gave it, or as ISO-8601 UTC with milliseconds (2024-01-31T09:00:00.000Z).'),
  untilRunStart: z
    .boolean()
    .default(false)
    .describe('Date cursors: the saved cursor never passes the time the run started (minus overlap), for APIs whose order is not the cursor order.'),
});

/** One declarative stream: where its records are and how to page through them. */
export const httpStreamDefSchema = z.strictObject({
  path: z.string().min(1, 'expected a path under baseUrl (/users) or an absolute URL'),
  method: z.enum(['GET', 'POST']).default('GET'),
  headers: templates.default({}),
  query: templates.default({}),
  body: z.record(z.string(), z.unknown()).optional().describe('JSON body (POST); string values are templates.'),
  recordSelector: dottedPath.default('').describe('Dotted path of the record list in the body; empty: the body is the list.'),
  paginator: paginator.prefault({ type: 'none' }),
  primaryKey: z.array(z.string().min(1)).optional().describe('Record fields naming a record (the YAML stream primaryKey wins).'),
  cursorField: z.string().min(1).optional().describe('Record field that grows on every change (the YAML stream cursor wins).'),
  incremental: incremental.prefault({}),
  derived: z
    .record(z.string().min(1), z.strictObject({ not: z.string().min(1) }))
    .default({})
    .describe('Fields added to each record: `{ emailOptIn: { not: emailBlacklisted } }` is the negation of a boolean field (absent when it is not a boolean).'),
});

/**
 * Config of the `http` source: the API, its auth and budget, and its streams by name.
 * Secrets (`auth.token`, `auth.password`, `auth.value`, `auth.clientSecret`) are listed in `spec.secrets`.
 */
export const httpConfigSchema = z.strictObject({
  baseUrl: z
    .url({ message: 'expected an http(s) URL such as https://api.example.com/v1' })
    .transform((u) => u.replace(/\/+$/, '')),
  auth: auth.prefault({ type: 'none' }),
  headers: templates.default({}),
  rateLimit: z
    .strictObject({
      perSecond: z.number().positive().optional(),
      perMinute: z.number().positive().optional(),
      perHour: z.number().positive().optional(),
      perDay: z.number().positive().optional().describe('Requests per rolling 24 hours (a daily quota).'),
      maxWaitMs: z.number().int().min(0).default(60_000).describe('A budget wait longer than this ends the run ("stopped by the API\'s limit").'),
    })
    .prefault({}),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(50).default(5),
      initialDelayMs: z.number().int().min(0).default(500),
      maxDelayMs: z.number().int().min(0).default(60_000),
      resetHeader: z.string().min(1).optional().describe('A header holding the seconds until the limit resets (x-ratelimit-reset), read when Retry-After is absent.'),
    })
    .prefault({}),
  timeoutMs: z.number().int().min(100).default(30_000),
  streams: z.record(z.string().min(1), httpStreamDefSchema).refine((s) => Object.keys(s).length > 0, 'expected at least one stream'),
});

export type HttpConfig = z.infer<typeof httpConfigSchema>;
export type HttpStreamDef = z.infer<typeof httpStreamDefSchema>;
export type Paginator = HttpStreamDef['paginator'];

/** YAML streams name a stream of `config.streams`; they carry no options of their own. */
export const httpStreamSchema = z.strictObject({});
export type HttpStreamConfig = z.infer<typeof httpStreamSchema>;

export const HTTP_SECRETS = ['auth.token', 'auth.password', 'auth.value', 'auth.clientSecret'];
