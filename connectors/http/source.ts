import { ConfigError, ConnectionError, errorMessage, type ErrorContext } from '../../core/errors.js';
import { realClock, type DeliveryClock } from '../../core/delivery/rate-limit.js';
import type { ConfiguredStream, ConnectorContext, FieldSchema, RateGate, SourceConnector, SourceMessage, StreamDescriptor } from '../../core/plugin/types.js';
import { savedBudget } from './budget.js';
import { HttpClient, requestBudget } from './client.js';
import { HTTP_SECRETS, httpConfigSchema, httpStreamSchema, type HttpConfig, type HttpStreamConfig, type HttpStreamDef } from './config.js';
import { buildRequest, readStream, selectRecords } from './read-stream.js';

export interface HttpSourceOptions {
  /** Time for the request budget, retries and `{{ now }}`. Tests pass a fake one. */
  clock?: DeliveryClock;
  /** Where `{{ env.NAME }}` is looked up. Default: process.env. */
  env?: Record<string, string | undefined>;
}

function client(ctx: ConnectorContext<HttpConfig>, clock: DeliveryClock, context: ErrorContext, limiter?: RateGate): HttpClient {
  return new HttpClient({ config: ctx.config, clock, signal: ctx.signal, metrics: ctx.metrics, context, limiter });
}

function defOf(config: HttpConfig, stream: string, sync: string): HttpStreamDef {
  const def = config.streams[stream];
  if (!def) {
    throw new ConfigError(`stream "${stream}" is not declared in config.streams (declared: ${Object.keys(config.streams).join(', ')})`, { sync, stream });
  }
  return def;
}

/** The first page of a stream's records: what `check` tries and `discover` describes. */
async function firstPage(ctx: ConnectorContext<HttpConfig>, name: string, opts: Required<HttpSourceOptions>): Promise<unknown[]> {
  const def = defOf(ctx.config, name, ctx.name);
  const now = new Date(opts.clock.now()).toISOString();
  const vars = { cursor: def.incremental.start === undefined ? undefined : String(def.incremental.start), env: opts.env, now };
  const answer = await client(ctx, opts.clock, { sync: ctx.name, stream: name }).send(buildRequest(ctx.config, def, vars, undefined), `stream ${name}, first page`);
  return selectRecords(answer.body, def.recordSelector, name);
}

function fieldType(v: unknown): FieldSchema['type'][number] {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'object') return typeof v as 'string' | 'boolean' | 'object';
  return 'string';
}

/** Top-level fields of the sampled records, with every type seen. */
export function inferFields(records: unknown[]): Record<string, FieldSchema> {
  const fields: Record<string, FieldSchema> = {};
  for (const r of records.slice(0, 100)) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) continue;
    for (const [k, v] of Object.entries(r)) {
      const t = fieldType(v);
      const f = (fields[k] ??= { type: [] });
      if (!f.type.includes(t)) f.type.push(t);
    }
  }
  return fields;
}

/**
 * The declarative `http` source: each stream of `config.streams` is a REST
 * endpoint, its record list, its paginator and its incremental parameter.
 * `createHttpSource` lets presets (Brevo) and tests pass a clock.
 */
export function createHttpSource(options: HttpSourceOptions = {}): SourceConnector<HttpConfig, HttpStreamConfig> {
  const opts: Required<HttpSourceOptions> = { clock: options.clock ?? realClock, env: options.env ?? process.env };
  return {
    id: 'http',
    kind: 'source',
    spec: { config: httpConfigSchema, stream: httpStreamSchema, secrets: HTTP_SECRETS },

    async check(ctx, streams) {
      const names = streams?.length ? streams.map((s) => s.name) : Object.keys(ctx.config.streams).slice(0, 1);
      try {
        for (const n of names) await firstPage(ctx, n, opts);
        return { ok: true };
      } catch (err) {
        return { ok: false, message: err instanceof Error ? err.message : errorMessage(err) };
      }
    },

    async discover(ctx, streams) {
      const names = streams?.length ? streams.map((s) => s.name) : Object.keys(ctx.config.streams);
      const out: StreamDescriptor[] = [];
      for (const name of names) {
        const def = defOf(ctx.config, name, ctx.name);
        let records: unknown[];
        try {
          records = await firstPage(ctx, name, opts);
        } catch (err) {
          if (err instanceof ConfigError || err instanceof ConnectionError) throw err;
          throw new ConnectionError(`cannot discover stream ${name}: ${errorMessage(err)}`, { sync: ctx.name, stream: name }, { cause: err });
        }
        out.push({
          name,
          fields: inferFields(records),
          primaryKey: def.primaryKey ?? [],
          cursorCandidates: def.cursorField ? [def.cursorField] : [],
          supportedModes: def.cursorField ? ['incremental', 'full_refresh'] : ['full_refresh', 'incremental'],
        });
      }
      return out;
    },

    async *read(ctx, streams: ConfiguredStream<HttpStreamConfig>[], state): AsyncGenerator<SourceMessage> {
      // One budget for the whole source: streams read one after another must not each start a fresh window,
      // and neither does the next run: the budget rides in every state the engine commits.
      const budget = requestBudget(ctx.config, opts.clock, ctx.signal, { sync: ctx.name }, savedBudget(state));
      for (const stream of streams) {
        if (ctx.signal.aborted) return;
        const def = defOf(ctx.config, stream.name, ctx.name);
        const http = client(ctx, opts.clock, { sync: ctx.name, stream: stream.name }, budget);
        const messages = readStream({ ctx, stream, def, saved: state[stream.name], client: http, now: () => opts.clock.now(), env: opts.env });
        if (!budget.persistent) {
          // Nothing to add to the states: delegate, without one more generator hop per record.
          yield* messages;
          continue;
        }
        for await (const m of messages) yield m.type === 'state' ? { ...m, state: { ...m.state, budget: budget.snapshot() } } : m;
      }
    },
  };
}

export const httpSource = createHttpSource();
