import type { DestinationContext, WriteResult } from '../../core/plugin/types.js';
import { IMPORT_BODY_LIMIT_BYTES, type BrevoConfig } from './config.js';
import { classifyFailure, describeAnswer, isSuccess, jsonOf, type Failure } from './errors.js';
import type { BrevoHttp } from './http.js';
import type { ContactBody, ContactKey } from './mapping.js';

type Ctx = DestinationContext<BrevoConfig>;

/** Waiting between polls; injectable so tests of the poll loop need no real time. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface ImportEntry {
  /** Index of the item in the batch. */
  index: number;
  body: ContactBody;
}

/**
 * Can this upsert go through the import? The import sets blocklists for a whole
 * file and cannot lift one, cannot unlink lists, and needs a list: contacts
 * that would need any of that are sent one by one.
 */
export function importable(body: ContactBody, config: BrevoConfig, keyChange: boolean): boolean {
  return !keyChange && config.listIds.length > 0 && config.unlinkListIds.length === 0 && body.emailBlacklisted !== false && body.smsBlacklisted !== false;
}

/** One jsonBody entry: `email` plus attributes (ext_id and SMS as the EXT_ID and SMS columns of an import). */
function jsonEntry(body: ContactBody): Record<string, unknown> {
  const attributes: Record<string, unknown> = { ...body.attributes };
  if (body.ext_id !== undefined) attributes.EXT_ID = body.ext_id;
  return body.email !== undefined ? { email: body.email, attributes } : { attributes };
}

/** Split into imports of one blocklist setting each, every jsonBody under the byte limit. */
export function planImports(entries: ImportEntry[], limitBytes = IMPORT_BODY_LIMIT_BYTES): Array<{ emailBlacklist: boolean; smsBlacklist: boolean; entries: ImportEntry[]; json: unknown[] }> {
  const groups = new Map<string, ImportEntry[]>();
  for (const e of entries) {
    const g = `${e.body.emailBlacklisted === true}|${e.body.smsBlacklisted === true}`;
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  const plans: Array<{ emailBlacklist: boolean; smsBlacklist: boolean; entries: ImportEntry[]; json: unknown[] }> = [];
  for (const [g, list] of groups) {
    const [emailBlacklist, smsBlacklist] = g.split('|').map((s) => s === 'true');
    let cur = { emailBlacklist, smsBlacklist, entries: [] as ImportEntry[], json: [] as unknown[] };
    let bytes = 2;
    for (const e of list) {
      const j = jsonEntry(e.body);
      const size = Buffer.byteLength(JSON.stringify(j), 'utf8') + 1;
      if (cur.entries.length > 0 && bytes + size > limitBytes) {
        plans.push(cur);
        cur = { emailBlacklist, smsBlacklist, entries: [], json: [] };
        bytes = 2;
      }
      cur.entries.push(e);
      cur.json.push(j);
      bytes += size;
    }
    if (cur.entries.length) plans.push(cur);
  }
  return plans;
}

function normal(key: ContactKey): string {
  return `${key.kind}:${key.kind === 'email' ? key.value.toLowerCase() : key.value}`;
}

/** Minimal CSV rows (header first; `;` or `,` separated, double quotes stripped). */
export function parseReportCsv(text: string): Array<Record<string, string>> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) return [];
  const sep = lines[0].includes(';') ? ';' : ',';
  const cells = (l: string) => l.split(sep).map((c) => c.trim().replace(/^"(.*)"$/s, '$1').replace(/""/g, '"'));
  const head = cells(lines[0]).map((h) => h.toUpperCase());
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [head[i] ?? `COL${i}`, c])));
}

/** The contacts a report row names, as normalized keys. */
function rowKeys(row: Record<string, string>): string[] {
  const out: string[] = [];
  if (row.EMAIL) out.push(normal({ kind: 'email', value: row.EMAIL }));
  if (row.EXT_ID) out.push(normal({ kind: 'ext_id', value: row.EXT_ID }));
  if (row.SMS) out.push(normal({ kind: 'sms', value: row.SMS.startsWith('+') ? row.SMS : `+${row.SMS}` }));
  return out;
}

type ProcessOutcome = { done: true; info: Record<string, unknown> } | { done: false; failure: Failure };

async function pollProcess(http: BrevoHttp, ctx: Ctx, processId: number, sleep: Sleep, now: () => number): Promise<ProcessOutcome> {
  const { importPollIntervalMs: interval, importTimeoutMs: timeout } = ctx.config;
  const started = now();
  let status = 'queued';
  for (;;) {
    await sleep(interval, ctx.signal);
    if (ctx.signal.aborted) return { done: false, failure: { status: 'retryable', reason: `import process ${processId}: the run stopped while it was ${status}` } };
    const ex = await http.send({ budget: 'processes', method: 'GET', path: `/processes/${processId}` });
    if (!isSuccess(ex)) {
      const f = classifyFailure(ex, ctx, 'processes', `polling import process ${processId}`);
      // A poll that fails does not fail the import: keep polling until the deadline, unless it never can pass.
      if (f.status === 'permanent') return { done: false, failure: f };
    } else {
      const j = jsonOf(ex);
      status = typeof j.status === 'string' ? j.status : 'unknown';
      if (status === 'completed') return { done: true, info: (j.info as Record<string, unknown>) ?? {} };
      if (status !== 'queued' && status !== 'in_process' && status !== 'processing') {
        return { done: false, failure: { status: 'retryable', reason: `import process ${processId} ended ${status}` } };
      }
    }
    if (now() - started + interval > timeout) {
      return { done: false, failure: { status: 'retryable', reason: `import process ${processId} not completed within ${timeout} ms (last status ${status})` } };
    }
  }
}

/**
 * Report files of a completed import: `info.import.*_url` (or `info.*_url`),
 * each a CSV of the contacts Brevo did not take, named for why. Returns the
 * rejected contacts (normalized key -> reason), or a failure when a report
 * cannot be read (then nobody knows which contacts were taken: retry them all).
 */
async function readReports(http: BrevoHttp, ctx: Ctx, processId: number, info: Record<string, unknown>): Promise<Map<string, string> | Failure> {
  const section = (info.import && typeof info.import === 'object' ? info.import : info) as Record<string, unknown>;
  const rejected = new Map<string, string>();
  for (const [field, url] of Object.entries(section)) {
    if (!field.endsWith('_url') || typeof url !== 'string' || !url) continue;
    const kind = field.slice(0, -4);
    const ex = await http.send({ budget: 'reports', method: 'GET', path: url, external: true });
    if (ex.kind !== 'response' || ex.status !== 200) {
      return { status: 'retryable', reason: describeAnswer(ex, `reading the ${kind} report of import process ${processId}`) };
    }
    for (const row of parseReportCsv(ex.text)) {
      for (const k of rowKeys(row)) rejected.set(k, `Brevo import ${processId} did not take this contact (${kind})`);
    }
  }
  return rejected;
}

/**
 * Import `entries` with `POST /contacts/import` (jsonBody), poll each process
 * until it completes (bounded by `importTimeoutMs`), and turn the report's
 * rejected contacts into permanent results. Writes into `results` by index.
 */
export async function importContacts(http: BrevoHttp, ctx: Ctx, entries: ImportEntry[], results: WriteResult[], opts: { sleep: Sleep; now: () => number }): Promise<void> {
  const c = ctx.config;
  for (const plan of planImports(entries)) {
    const body = {
      jsonBody: plan.json,
      listIds: c.listIds,
      updateExistingContacts: true,
      emptyContactsAttributes: c.emptyContactsAttributes,
      emailBlacklist: plan.emailBlacklist,
      smsBlacklist: plan.smsBlacklist,
      disableNotification: true,
    };
    const what = `import of ${plan.entries.length} contacts`;
    const ex = await http.send({ budget: 'contacts', method: 'POST', path: '/contacts/import', body });
    const processId = isSuccess(ex) ? Number(jsonOf(ex).processId) : NaN;
    if (!Number.isFinite(processId)) {
      const f: Failure = isSuccess(ex) ? { status: 'retryable', reason: `${what}: Brevo answered ${ex.kind === 'response' ? ex.status : '?'} without a processId` } : classifyFailure(ex, ctx, 'contacts', what);
      for (const e of plan.entries) results[e.index] = f;
      continue;
    }
    const outcome = await pollProcess(http, ctx, processId, opts.sleep, opts.now);
    if (!outcome.done) {
      for (const e of plan.entries) results[e.index] = outcome.failure;
      continue;
    }
    const rejected = await readReports(http, ctx, processId, outcome.info);
    for (const e of plan.entries) {
      if (!(rejected instanceof Map)) results[e.index] = rejected;
      else {
        const reason = rejected.get(normal(e.body.key));
        results[e.index] = reason ? { status: 'permanent', reason } : { status: 'ok' };
      }
    }
  }
}
