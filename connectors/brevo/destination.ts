import { realClock } from '../../core/delivery/rate-limit.js';
import type { CheckResult, ConnectorContext, DestinationConnector, DestinationContext, DestinationItem, WriteResult } from '../../core/plugin/types.js';
import { brevoConfigSchema, IMPORT_BODY_LIMIT_BYTES, type BrevoConfig } from './config.js';
import { deleteContact, upsertContact, withdrawContact } from './contacts.js';
import { describeAnswer, isSuccess, redact } from './errors.js';
import { trackEvent } from './events.js';
import { brevoHttp, type BrevoHttp } from './http.js';
import { importable, importContacts, type ImportEntry, type Sleep } from './import.js';
import { ATTRIBUTE_NAME, brevoRef, contactBody, DEFAULT_MAPPING, parseRef } from './mapping.js';

export interface BrevoDestinationOptions {
  /** Wait between import polls. Default: a real timer that ends early when the run is aborted. */
  sleep?: Sleep;
  /** Clock for the import deadline. Default: Date.now. */
  now?: () => number;
}

/** Run `fn` over `indexes` with at most `n` in flight; a throw (a rejected key) stops the rest and is rethrown. */
async function pool(indexes: number[], n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < indexes.length) {
      const i = indexes[next++];
      try {
        await fn(i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, indexes.length) }, worker));
  if (failed !== undefined) throw failed;
}

async function checkAccount(ctx: ConnectorContext<BrevoConfig>): Promise<CheckResult> {
  const http = brevoHttp(ctx);
  const ex = await http.send({ budget: 'contacts', method: 'GET', path: '/account' });
  if (isSuccess(ex)) return { ok: true };
  const where = `GET ${ctx.config.baseUrl}/account`;
  if (ex.kind === 'response' && (ex.status === 401 || ex.status === 403)) {
    return { ok: false, message: redact(`Brevo rejected the API key (${describeAnswer(ex, where)}); check apiKey`, ctx.config) };
  }
  return { ok: false, message: redact(describeAnswer(ex, where), ctx.config) };
}

/**
 * One batch: deletes first, then upserts (the import for a large enough batch,
 * else contact by contact), then track events (so their contacts exist).
 */
async function writeBatch(ctx: DestinationContext<BrevoConfig>, batch: DestinationItem[], opts: Required<BrevoDestinationOptions>): Promise<WriteResult[]> {
  const http: BrevoHttp = brevoHttp(ctx);
  const c = ctx.config;
  const results: WriteResult[] = batch.map(() => ({ status: 'retryable', reason: 'not attempted' }));
  const deletes: number[] = [];
  const upserts: number[] = [];
  const tracks: number[] = [];
  const withdrawals: number[] = [];
  batch.forEach((item, i) => (item.op === 'delete' ? deletes : item.op === 'track' ? tracks : item.op === 'withdraw' ? withdrawals : upserts).push(i));

  await pool(deletes, c.concurrency, async (i) => {
    results[i] = await deleteContact(http, ctx, batch[i]);
  });
  await pool(withdrawals, c.concurrency, async (i) => {
    results[i] = await withdrawContact(http, ctx, batch[i]);
  });

  const imports: ImportEntry[] = [];
  const singles: number[] = [];
  for (const i of upserts) {
    const item = batch[i];
    const body = contactBody(item, c);
    if ('reason' in body) {
      results[i] = { status: 'permanent', reason: body.reason };
      continue;
    }
    const old = item.previous?.ref ? parseRef(item.previous.ref) : undefined;
    const keyChange = !!old && old.kind === body.key.kind && old.value.toLowerCase() !== body.key.value.toLowerCase();
    if (importable(body, c, keyChange)) imports.push({ index: i, body });
    else singles.push(i);
  }
  if (imports.length < c.importThreshold) singles.push(...imports.splice(0).map((e) => e.index));
  if (imports.length) await importContacts(http, ctx, imports, results, opts);
  await pool(singles, c.concurrency, async (i) => {
    results[i] = await upsertContact(http, ctx, batch[i]);
  });

  // Events keep their stored order: one at a time, and once one of a contact's events fails, its later
  // ones in this batch wait (retryable, not sent) so a retry never lands after them.
  const blocked = new Map<string, string>();
  for (const i of tracks) {
    const contact = brevoRef(batch[i], c);
    const earlier = blocked.get(contact);
    if (earlier) {
      results[i] = { status: 'retryable', reason: `event ${batch[i].key} not sent: the earlier event ${earlier} of the same contact failed in this batch` };
      continue;
    }
    results[i] = await trackEvent(http, ctx, batch[i]);
    if (results[i].status === 'retryable') blocked.set(contact, batch[i].key);
  }
  return results;
}

/**
 * Build the `brevo` destination. Export the default instance (`brevoDestination`);
 * call this only to inject a different sleep/clock for the import poll (tests).
 *
 * @example
 * const dest = createBrevoDestination({ sleep: async () => undefined });
 */
export function createBrevoDestination(options: BrevoDestinationOptions = {}): DestinationConnector<BrevoConfig> {
  const opts: Required<BrevoDestinationOptions> = { sleep: options.sleep ?? realClock.sleep, now: options.now ?? (() => Date.now()) };
  return {
    id: 'brevo',
    kind: 'destination',
    delivery: 'incremental',
    spec: { config: brevoConfigSchema, secrets: ['apiKey'] },
    // Withdrawn consent blocklists the contact (keeping the suppression Brevo holds) rather than deleting it.
    capabilities: { delete: true, events: true, withdraw: 'mark' },
    // Brevo's general tier as documented; users on other plans override them with `rateLimit:`.
    budgets: {
      contacts: { perSecond: 10, perHour: 36_000 },
      events: { perSecond: 10, perHour: 36_000 },
      processes: { perHour: 100 },
    },
    limits: { maxBatchItems: 5000, maxBatchBytes: IMPORT_BODY_LIMIT_BYTES, maxItemBytes: 256 * 1024 },
    mapping: { names: ATTRIBUTE_NAME, describe: 'upper-case Brevo attribute names (FIRSTNAME, SMS, ...)', defaults: DEFAULT_MAPPING },
    ref: (item, config) => brevoRef(item, config),
    check: (ctx) => checkAccount(ctx),
    write: (ctx, batch) => writeBatch(ctx, batch, opts),
  };
}

/** The `brevo` destination: contacts, deletes and events through Brevo's API v3. See README.md. */
export const brevoDestination = createBrevoDestination();
