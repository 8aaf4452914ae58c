import { ConfigError, ConnectionError, TributaryError } from '../../core/errors.js';
import type {
  CheckResult,
  ConfiguredStream,
  ConnectorContext,
  ConnectorSpec,
  SourceConnector,
  SourceMessage,
  StreamDescriptor,
} from '../../core/plugin/types.js';
import type { SqlReadOptions } from './read-target.js';

/** The per-database parts of a SQL source; `sqlSource` supplies the rest (sessions, errors, the stream loop). */
export interface SqlSourceHooks<C extends { database: string }, S, Session> {
  /** Connector id, also the server's name in messages (`mysql at db:3306 as reader`). */
  id: string;
  spec: ConnectorSpec<C, S>;
  openSession(config: C): Promise<Session>;
  closeSession(session: Session | undefined): Promise<void>;
  /** A trivial query proving the session answers (`SELECT 1`). */
  ping(session: Session): Promise<unknown>;
  /** Check one configured stream against the server; throws when it cannot be read. */
  planStream(session: Session, config: C, stream: ConfiguredStream<S>): Promise<{ columns: ReadonlyArray<{ name: string }>; origin: string }>;
  discoverTables(session: Session, config: C): Promise<StreamDescriptor[]>;
  readStream(o: SqlReadOptions<Session, C, S>): AsyncIterable<SourceMessage[]>;
  readFailure(err: unknown, config: C, stream: string, sync: string, connected: boolean): TributaryError;
  checkFailure(err: unknown, config: C): string;
  reasonOf(err: unknown, config: C): string;
  serverLabel(config: C): string;
}

/**
 * A SQL source connector built from per-database hooks: `check` opens a session,
 * pings it and plans every configured stream; `discover` lists the tables;
 * `read` opens one session and reads the streams in turn. Sessions are always closed.
 */
export function sqlSource<C extends { database: string }, S, Session>(h: SqlSourceHooks<C, S, Session>): SourceConnector<C, S> {
  return {
    id: h.id,
    kind: 'source',
    spec: h.spec,

    async check(ctx, streams): Promise<CheckResult> {
      let session: Session | undefined;
      try {
        session = await h.openSession(ctx.config);
        await h.ping(session);
        // Configured streams: their tables, columns and queries must be readable too.
        for (const stream of streams ?? []) {
          let plan: Awaited<ReturnType<typeof h.planStream>>;
          try {
            plan = await h.planStream(session, ctx.config, stream);
          } catch (err) {
            const failure = h.readFailure(err, ctx.config, stream.name, ctx.name, true);
            return { ok: false, message: `stream ${stream.name}: ${failure.message}` };
          }
          const missing = missingFields(stream.fields ?? [], plan.columns);
          if (missing.length) {
            const have = plan.columns.map((c) => c.name).join(', ');
            return { ok: false, message: `stream ${stream.name}: the mapping reads ${missing.map((f) => `"${f}"`).join(', ')}, not in ${plan.origin} (columns: ${have})` };
          }
        }
        return { ok: true };
      } catch (err) {
        if (err instanceof ConfigError) return { ok: false, message: `${h.id} at ${h.serverLabel(ctx.config)}: ${err.message}` };
        return { ok: false, message: h.checkFailure(err, ctx.config) };
      } finally {
        await h.closeSession(session);
      }
    },

    async discover(ctx): Promise<StreamDescriptor[]> {
      let session: Session | undefined;
      try {
        session = await h.openSession(ctx.config);
        return await h.discoverTables(session, ctx.config);
      } catch (err) {
        if (err instanceof TributaryError) throw err;
        throw new ConnectionError(
          `cannot list the tables of ${ctx.config.database} on ${h.id} at ${h.serverLabel(ctx.config)}: ${h.reasonOf(err, ctx.config)}`,
          { sync: ctx.name },
          { cause: err },
        );
      } finally {
        await h.closeSession(session);
      }
    },

    async *read(ctx: ConnectorContext<C>, streams, state): AsyncGenerator<SourceMessage> {
      if (!streams.length) return;
      let session: Session | undefined;
      try {
        session = await h.openSession(ctx.config);
      } catch (err) {
        // The first stream is named: the connection was opened to read it.
        throw h.readFailure(err, ctx.config, streams[0].name, ctx.name, false);
      }
      try {
        for (const stream of streams) {
          if (ctx.signal.aborted) return;
          for await (const chunk of h.readStream({ session, ctx, stream, saved: state[stream.name] })) for (const m of chunk) yield m;
        }
      } finally {
        await h.closeSession(session);
      }
    },
  };
}

/** Mapped fields no column supplies: neither the whole name nor its first dotted part (a path into a JSON column). */
export function missingFields(fields: string[], columns: ReadonlyArray<{ name: string }>): string[] {
  const names = new Set(columns.map((c) => c.name));
  return fields.filter((f) => !names.has(f) && !names.has(f.split('.')[0]));
}
