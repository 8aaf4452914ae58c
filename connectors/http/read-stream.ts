import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, JsonValue, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { HttpClient, type HttpRequest } from './client.js';
import type { HttpConfig, HttpStreamConfig, HttpStreamDef } from './config.js';
import { asCursor, compareCursor, cursorText, dateMs, getPath, maxCursor, minCursor, minus } from './cursor.js';
import { nextPosition, nextUrlOf, pageQuery, type Position } from './paginate.js';
import { MissingEnvError, render, renderAll, renderBody, type TemplateVars } from './template.js';

/** Most `[key, cursor]` pairs kept for overlap de-duplication; past it the oldest are dropped (and counted). */
export const MAX_SEEN = 50_000;

type Seen = Array<[string, JsonValue]>;

/**
 * A stream's state. `cursor`: the highest cursor committed (the next run asks
 * from it, minus the overlap); `seen`: keys read at or above that lower bound,
 * so an inclusive filter does not deliver them twice. `window`: a pass in
 * progress, saved after every page: its lower bound, where the next page is,
 * the highest cursor so far. The cursor only moves when a pass ends, so an API
 * not sorted by the cursor (Brevo: by creation) never skips a record.
 */
export interface HttpStreamState {
  cursor?: JsonValue;
  seen?: Seen;
  window?: { bound?: JsonValue; next: Position; max?: JsonValue; seen: Seen; startedAt: number; read: number };
  /** Full refresh: the last pass ended (the next run starts over). */
  done?: boolean;
}

export interface ReadStreamOptions {
  ctx: ConnectorContext<HttpConfig>;
  stream: ConfiguredStream<HttpStreamConfig>;
  def: HttpStreamDef;
  saved: StreamState | undefined;
  client: HttpClient;
  now: () => number;
  env: Record<string, string | undefined>;
}

/** The request for one page of a stream. */
export function buildRequest(config: HttpConfig, def: HttpStreamDef, vars: TemplateVars, pos: Position | undefined): HttpRequest {
  const headers = { ...renderAll(config.headers, vars), ...renderAll(def.headers, vars) };
  const query: Record<string, string> = {};
  const auth = config.auth;
  if (auth.type === 'bearer') headers.authorization = `Bearer ${auth.token}`;
  if (auth.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  if (auth.type === 'api_key' && auth.in === 'header') headers[auth.name] = auth.value;
  const next = nextUrlOf(pos);
  if (!next) Object.assign(query, renderAll(def.query, vars), pageQuery(def.paginator, pos));
  if (auth.type === 'api_key' && auth.in === 'query') query[auth.name] = auth.value;
  const url = next ?? (/^https?:\/\//.test(def.path) ? def.path : `${config.baseUrl}${def.path.startsWith('/') ? '' : '/'}${def.path}`);
  return { url, method: next ? 'GET' : def.method, headers, query, body: def.body && !next ? renderBody(def.body, vars) : undefined };
}

/** The records of a page, or a ConfigError naming the selector and what the body holds instead. */
export function selectRecords(body: unknown, selector: string, streamName: string): unknown[] {
  const found = getPath(body, selector);
  if (Array.isArray(found)) return found;
  if (found === null) return [];
  const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const has = keys.length ? `the body has keys ${keys.slice(0, 20).join(', ')}` : `the body is ${Array.isArray(body) ? 'a list' : typeof body}`;
  const what = found === undefined ? 'found nothing' : `found ${typeof found}, not a list`;
  throw new ConfigError(`recordSelector "${selector}" ${what} in the answer; ${has}`, { stream: streamName });
}

function parseState(saved: StreamState | undefined): HttpStreamState {
  return (saved ?? {}) as HttpStreamState;
}

const keyOf = (data: Record<string, unknown>, pk: string[]): string =>
  JSON.stringify(pk.length ? pk.map((f) => getPath(data, f) ?? null) : data);

/** Keep the pairs the next run may read again (cursor at or above `from`), at most MAX_SEEN of them. */
function prune(seen: Map<string, JsonValue>, from: JsonValue | undefined, onDrop: (n: number) => void): Seen {
  let out: Seen = [...seen].filter(([, c]) => from === undefined || compareCursor(c, from) >= 0);
  if (out.length > MAX_SEEN) {
    out.sort((a, b) => compareCursor(b[1], a[1]));
    onDrop(out.length - MAX_SEEN);
    out = out.slice(0, MAX_SEEN);
  }
  return out;
}

/**
 * Read one stream: page by page, a record message per record, a state message
 * after every page (the engine commits it with the page), and a final state
 * once the stop rules end the pass.
 */
export async function* readStream(o: ReadStreamOptions): AsyncGenerator<SourceMessage> {
  const { ctx, stream, def, client } = o;
  const name = stream.name;
  const incremental = stream.mode === 'incremental';
  const cursorField = stream.cursorField ?? def.cursorField;
  const pk = stream.primaryKey ?? def.primaryKey ?? [];
  if (incremental && !cursorField) {
    throw new ConfigError('incremental mode needs a cursor: a record field that grows on every change (updated_at); or set mode: full_refresh', { stream: name });
  }
  const inc = def.incremental;
  const saved = parseState(o.saved);
  const resuming = saved.window !== undefined && !(stream.mode === 'full_refresh' && saved.done);
  const startedAt = resuming ? saved.window!.startedAt : o.now();
  const savedCursor = incremental ? saved.cursor : undefined;
  const bound: JsonValue | undefined = resuming ? saved.window!.bound : savedCursor !== undefined ? minus(savedCursor, inc.overlap) : inc.start;
  const skipSeen = new Map<string, JsonValue>(incremental ? (saved.seen ?? []) : []);
  const windowSeen = new Map<string, JsonValue>(incremental && resuming ? saved.window!.seen : []);
  let max: JsonValue | undefined = resuming ? saved.window!.max : undefined;
  let pos: Position | undefined = resuming ? saved.window!.next : undefined;
  let read = resuming ? saved.window!.read : 0;
  let pageNo = 0;
  const vars: TemplateVars = { cursor: incremental && bound !== undefined ? boundText(bound, inc.format) : undefined, env: o.env, now: new Date(startedAt).toISOString() };
  const tags = { stream: name };
  const dropped = (n: number) => {
    ctx.metrics.count('http_seen_dropped', n, tags);
    ctx.logger.warn('overlap de-duplication keeps a bounded number of keys; some records at the boundary may be read again', { stream: name, dropped: n });
  };

  /** The cursor the next pass starts from: the highest seen, never past the run's start when the API's order is not the cursor's. */
  const nextCursor = (): JsonValue | undefined => {
    let c = maxCursor(savedCursor, max);
    if (c !== undefined && inc.untilRunStart && dateMs(c) !== undefined) {
      c = minCursor(c, new Date(startedAt - inc.overlap * 1000).toISOString());
      if (savedCursor !== undefined) c = maxCursor(c, savedCursor);
    }
    return c;
  };

  for (;;) {
    if (ctx.signal.aborted) return;
    pageNo++;
    let req: HttpRequest;
    try {
      req = buildRequest(ctx.config, def, vars, pos);
    } catch (err) {
      if (err instanceof MissingEnvError) throw new ConfigError(err.message, { stream: name });
      throw err;
    }
    const where = `stream ${name}, page ${pageNo}${resuming ? ' of a resumed pass' : ''}`;
    let answer;
    try {
      answer = await client.send(req, where);
    } catch (err) {
      if (err instanceof ConnectionError && pageNo > 1 && !err.message.includes("stopped by the API's limit")) {
        ctx.logger.warn('request failed mid-pagination; the pages before it are kept', { stream: name, page: pageNo });
      }
      throw err;
    }
    const records = selectRecords(answer.body, def.recordSelector, name);
    for (const [i, rec] of records.entries()) {
      const origin = `${name} page ${pageNo} #${i + 1}`;
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) {
        yield { type: 'error', stream: name, reason: `record is ${Array.isArray(rec) ? 'a list' : rec === null ? 'null' : typeof rec}, not an object`, origin, raw: JSON.stringify(rec) };
        continue;
      }
      const data = rec as Record<string, unknown>;
      for (const [field, d] of Object.entries(def.derived)) {
        const v = getPath(data, d.not);
        if (typeof v === 'boolean') data[field] = !v;
      }
      if (incremental) {
        const c = asCursor(getPath(data, cursorField!));
        if (c === undefined) {
          ctx.metrics.count('cursor_warnings', 1, tags);
        } else {
          // An API that ignores or widens the filter: older records were read by an earlier pass.
          if (bound !== undefined && compareCursor(c, bound) < 0) continue;
          const key = keyOf(data, pk);
          const before = skipSeen.get(key);
          if (before !== undefined && compareCursor(before, c) === 0) continue;
          max = maxCursor(max, c);
          windowSeen.set(key, c);
        }
      }
      yield { type: 'record', stream: name, data, origin };
    }
    read += records.length;
    pos = nextPosition(def.paginator, pos, { url: req.url, body: answer.body, headers: answer.headers, count: records.length, readSoFar: read });
    if (!pos) break;
    if (!incremental) {
      yield { type: 'state', stream: name, state: { window: { next: pos, seen: [], startedAt, read } } as unknown as StreamState };
      continue;
    }
    const floor = nextCursor();
    const kept = prune(windowSeen, floor === undefined ? undefined : minus(floor, inc.overlap), dropped);
    windowSeen.clear();
    for (const [k, c] of kept) windowSeen.set(k, c);
    const window = { ...(bound !== undefined ? { bound } : {}), next: pos, ...(max !== undefined ? { max } : {}), seen: kept, startedAt, read };
    yield { type: 'state', stream: name, state: toState({ cursor: savedCursor, seen: saved.seen, window }) };
  }

  if (!incremental) {
    yield { type: 'state', stream: name, state: { done: true } };
    return;
  }
  const cursor = nextCursor();
  const all = new Map<string, JsonValue>([...skipSeen, ...windowSeen]);
  const seen = cursor === undefined ? [] : prune(all, minus(cursor, inc.overlap), dropped);
  yield { type: 'state', stream: name, state: toState({ cursor, seen }) };
}

function boundText(bound: JsonValue, format: 'as_read' | 'iso'): string {
  const t = format === 'iso' ? dateMs(bound) : undefined;
  return t === undefined ? cursorText(bound) : new Date(t).toISOString();
}

function toState(s: HttpStreamState): StreamState {
  const out: StreamState = {};
  if (s.cursor !== undefined) out.cursor = s.cursor;
  if (s.seen?.length) out.seen = s.seen;
  if (s.window) out.window = s.window as unknown as JsonValue;
  return out;
}
