import { ConnectionError } from '../../core/errors.js';
import type { CheckResult, ConnectorSpec, DestinationConnector, DestinationContext, DestinationItem, DestinationLimits, WriteResult } from '../../core/plugin/types.js';
import { connectFailure, reasonOf, serverLabel } from './connection-errors.js';
import { SQL_COLUMN_DESCRIBE, SQL_COLUMN_NAME, type SqlDestinationConfig } from './destination-config.js';
import { planBatch, type PlannedBatch, type PlannedColumn, type PlannedDelete, type PlannedRow } from './destination-rows.js';

/**
 * What a failed statement means:
 * - `retryable`: the connection dropped, a deadlock, a serialization failure, a lock wait timed out;
 * - `data`: the server refused a value (too long, wrong type, a constraint): find the row;
 * - `fatal`: no item can succeed (credentials, a missing table or column, no privilege).
 */
export type FailureKind = 'retryable' | 'data' | 'fatal';

/** Column name -> the server's type, as the table has them. */
export type TableColumns = Map<string, string>;

export interface TableInfo {
  columns: TableColumns;
  /** Is the key column the primary key, or alone in a unique index? Upserts need it. */
  keyUnique: boolean;
}

/** The per-database parts of a SQL destination; `sqlDestination` supplies the batch logic. */
export interface SqlDestinationDialect<C extends SqlDestinationConfig, Conn> {
  /** Connector id, also the server's name in messages (`postgres at db:5432 as writer`). */
  id: string;
  spec: ConnectorSpec<C>;
  limits: DestinationLimits;
  /** Open a session ready to write: strict value checks, lock timeout, UTC. */
  connect(config: C): Promise<Conn>;
  /** Give the session back; `broken` after a failure, when it must not be reused. */
  close(conn: Conn, broken: boolean): Promise<void>;
  /** The table as messages name it (`"public"."profiles"`). */
  tableLabel(config: C): string;
  /** The table's columns, or undefined when there is no such table. */
  describe(conn: Conn, config: C): Promise<TableInfo | undefined>;
  createTable(conn: Conn, config: C, columns: PlannedColumn[]): Promise<void>;
  /** Run a transaction-control statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT ...). */
  control(conn: Conn, sql: string): Promise<void>;
  /** Upsert rows (in as few statements as the server allows) setting `columns`. */
  upsert(conn: Conn, config: C, table: TableColumns, columns: string[], rows: PlannedRow[]): Promise<void>;
  /** Mirror: delete the rows with these keys. */
  remove(conn: Conn, config: C, refs: string[]): Promise<void>;
  /** Not mirror, `deletedAtColumn` set: stamp these rows as deleted. */
  markDeleted(conn: Conn, config: C, refs: string[]): Promise<void>;
  classify(err: unknown): FailureKind;
}

type Failure = { kind: FailureKind; reason: string; err: unknown };

const SAVEPOINT = 'tributary_row';

/**
 * A SQL destination built from a dialect. Each `write` opens one connection and
 * commits the batch in one transaction: every row or none. When a statement
 * fails on a value, the batch is replayed row by row (a savepoint per row) in a
 * new transaction, so the good rows commit and each bad row is reported
 * permanent with the server's reason.
 */
export function sqlDestination<C extends SqlDestinationConfig, Conn>(d: SqlDestinationDialect<C, Conn>): DestinationConnector<C> {
  const where = (config: C) => `${d.tableLabel(config)} in database ${config.database} on ${d.id} at ${serverLabel(config)}`;
  const fatalError = (ctx: DestinationContext<C>, message: string, cause?: unknown) =>
    new ConnectionError(message, { sync: ctx.name }, { cause, retryable: false });

  async function open(ctx: DestinationContext<C>): Promise<Conn> {
    try {
      return await d.connect(ctx.config);
    } catch (err) {
      const message = connectFailure(d.id, err, ctx.config);
      if (d.classify(err) === 'fatal') throw fatalError(ctx, message, err);
      throw new ConnectionError(message, { sync: ctx.name }, { cause: err });
    }
  }

  /** The table with every column the batch writes: created when allowed, else a fatal error naming what is missing. */
  async function prepare(ctx: DestinationContext<C>, conn: Conn, plan: PlannedBatch): Promise<{ table: TableColumns; columns: string[] }> {
    const config = ctx.config;
    let info = await d.describe(conn, config);
    if (!info) {
      if (!config.createTable) throw fatalError(ctx, `table ${where(config)} does not exist; create it or set createTable: true`);
      await d.createTable(conn, config, plan.columns);
      info = await d.describe(conn, config);
      if (!info) throw fatalError(ctx, `table ${where(config)} could not be created`);
    }
    const problem = tableProblem(config, info, plan.columns.filter((c) => !c.standard).map((c) => c.name));
    if (problem) throw fatalError(ctx, problem);
    const table = info.columns;
    return { table, columns: plan.columns.filter((c) => table.has(c.name)).map((c) => c.name) };
  }

  /** What makes the table unusable: missing columns, or a key column that is not unique (rows would duplicate). */
  function tableProblem(config: C, info: TableInfo, needed: string[]): string | undefined {
    const missing = needed.filter((n) => !info.columns.has(n));
    if (missing.length) return `table ${where(config)} has no column ${missing.map((m) => `"${m}"`).join(', ')}; add it or change the mapping / config`;
    if (!info.keyUnique) return `column "${config.keyColumn}" of table ${where(config)} is neither the primary key nor unique: upserts by profile id need it to be`;
    return undefined;
  }

  const failure = (err: unknown, config: C): Failure => ({ kind: d.classify(err), reason: `${d.id}: ${reasonOf(err, config)}`, err });

  async function rollback(conn: Conn): Promise<void> {
    await d.control(conn, 'ROLLBACK').catch(() => undefined);
  }

  async function applyDeletes(conn: Conn, config: C, deletes: PlannedDelete[]): Promise<void> {
    if (!deletes.length) return;
    // A withdrawal's or a forget's delete (hard) removes the row whatever the mode; the others follow mirror / deletedAtColumn.
    const removed = deletes.filter((x) => config.mirror || x.hard).map((x) => x.ref);
    const stamped = deletes.filter((x) => !(config.mirror || x.hard)).map((x) => x.ref);
    if (removed.length) await d.remove(conn, config, removed);
    if (stamped.length) await d.markDeleted(conn, config, stamped);
  }

  /** The whole batch in one transaction. Returns the failure, if any, after rolling back. */
  async function allAtOnce(conn: Conn, config: C, plan: PlannedBatch, table: TableColumns, columns: string[]): Promise<Failure | undefined> {
    try {
      await d.control(conn, 'BEGIN');
      if (plan.upserts.length) await d.upsert(conn, config, table, columns, plan.upserts);
      await applyDeletes(conn, config, plan.deletes);
      await d.control(conn, 'COMMIT');
      return undefined;
    } catch (err) {
      await rollback(conn);
      return failure(err, config);
    }
  }

  /** One row at a time, a savepoint each: data errors settle their own row, anything else aborts the batch. */
  async function rowByRow(conn: Conn, config: C, plan: PlannedBatch, table: TableColumns, columns: string[], settle: (items: number[], r: WriteResult) => void): Promise<Failure | undefined> {
    const pending: Array<{ items: number[]; r: WriteResult }> = [];
    const steps: Array<{ items: number[]; run(): Promise<void> }> = [
      ...plan.upserts.map((row) => ({ items: row.items, run: () => d.upsert(conn, config, table, columns, [row]) })),
      ...plan.deletes.map((del) => ({ items: del.items, run: () => applyDeletes(conn, config, [del]) })),
    ];
    try {
      await d.control(conn, 'BEGIN');
      for (const step of steps) {
        await d.control(conn, `SAVEPOINT ${SAVEPOINT}`);
        try {
          await step.run();
          await d.control(conn, `RELEASE SAVEPOINT ${SAVEPOINT}`);
          pending.push({ items: step.items, r: { status: 'ok' } });
        } catch (err) {
          const f = failure(err, config);
          if (f.kind !== 'data') throw err;
          await d.control(conn, `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
          pending.push({ items: step.items, r: { status: 'permanent', reason: f.reason } });
        }
      }
      await d.control(conn, 'COMMIT');
    } catch (err) {
      await rollback(conn);
      return failure(err, config);
    }
    for (const p of pending) settle(p.items, p.r);
    return undefined;
  }

  return {
    id: d.id,
    kind: 'destination',
    delivery: 'incremental',
    spec: d.spec,
    capabilities: { delete: true },
    limits: d.limits,
    mapping: { names: SQL_COLUMN_NAME, describe: SQL_COLUMN_DESCRIBE },

    async check(ctx): Promise<CheckResult> {
      const config = ctx.config;
      let conn: Conn | undefined;
      try {
        conn = await d.connect(config);
        const info = await d.describe(conn, config);
        if (!info) {
          if (config.createTable) return { ok: true };
          return { ok: false, message: `table ${where(config)} does not exist; create it or set createTable: true` };
        }
        const needed = [config.keyColumn, config.jsonColumn, config.deletedAtColumn].filter((n): n is string => typeof n === 'string');
        const problem = tableProblem(config, info, needed);
        return problem ? { ok: false, message: problem } : { ok: true };
      } catch (err) {
        if (!conn) return { ok: false, message: connectFailure(d.id, err, config) };
        return { ok: false, message: `cannot inspect table ${where(config)}: ${reasonOf(err, config)}` };
      } finally {
        if (conn) await d.close(conn, false);
      }
    },

    async write(ctx: DestinationContext<C>, batch: DestinationItem[]): Promise<WriteResult[]> {
      const config = ctx.config;
      const plan = planBatch(config, batch);
      if (plan.fatal) throw fatalError(ctx, `${d.id} destination ${ctx.name}: ${plan.fatal}`);
      const results: WriteResult[] = batch.map((_, i) => plan.decided.get(i) ?? { status: 'retryable', reason: 'not written' });
      const settle = (items: number[], r: WriteResult) => items.forEach((i) => (results[i] = r));
      const all = [...plan.upserts.map((u) => u.items), ...plan.deletes.map((x) => x.items)];
      if (!all.length) return results;

      await ctx.rate.take();
      let conn: Conn;
      try {
        conn = await open(ctx);
      } catch (err) {
        if (!(err instanceof ConnectionError) || !err.retryable) throw err;
        for (const items of all) settle(items, { status: 'retryable', reason: err.message });
        return results;
      }
      let broken = true;
      try {
        let prepared: { table: TableColumns; columns: string[] };
        try {
          prepared = await prepare(ctx, conn, plan);
        } catch (err) {
          if (err instanceof ConnectionError) throw err;
          const f = failure(err, config);
          if (f.kind === 'fatal') throw fatalError(ctx, `cannot write to ${where(config)}: ${f.reason}`, err);
          for (const items of all) settle(items, { status: 'retryable', reason: f.reason });
          return results;
        }
        const { table, columns } = prepared;
        let f = await allAtOnce(conn, config, plan, table, columns);
        if (!f) {
          broken = false;
          for (const items of all) settle(items, { status: 'ok' });
          return results;
        }
        if (f.kind === 'data') {
          // The server's message may quote the refused value (profile data): it goes in the item's result, not the log.
          f = await rowByRow(conn, config, plan, table, columns, settle);
          broken = f !== undefined;
          if (!f) {
            const refused = all.filter((items) => results[items[0]].status === 'permanent').length;
            ctx.logger.warn(`${d.id} destination ${ctx.name}: a value was refused, the batch was written row by row; ${refused} of ${all.length} rows refused`);
            return results;
          }
        }
        if (f.kind === 'fatal') throw fatalError(ctx, `cannot write to ${where(config)}: ${f.reason}`, f.err);
        for (const items of all) settle(items, { status: 'retryable', reason: f.reason });
        return results;
      } finally {
        await d.close(conn, broken);
      }
    },
  };
}
