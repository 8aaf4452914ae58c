import { hostname } from 'node:os';
import type { AbandonedRunPolicy, DeadLetter, DestinationStatus, RunRecord, RunSummary } from './types.js';

/**
 * Rows read back as the store interface's objects. Both stores have the same tables and
 * columns (core/store/sqlite-schema.ts, core/store/pg/pg-schema.ts), so they share these.
 */
type Row = Record<string, unknown>;

const text = (v: unknown) => (v as string | null) ?? undefined;

export function runOfRow(r: Row): RunRecord {
  return {
    id: Number(r.id),
    name: r.name as string,
    kind: r.kind as RunRecord['kind'],
    startedAt: r.started_at as string,
    finishedAt: text(r.finished_at),
    status: r.status as RunRecord['status'],
    summary: r.summary ? (JSON.parse(r.summary as string) as RunSummary) : undefined,
    error: text(r.error),
    pid: r.pid === null || r.pid === undefined ? undefined : Number(r.pid),
    host: text(r.host),
    heartbeatAt: text(r.heartbeat_at),
  };
}

export function deadLetterOfRow(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    sync: r.sync as string,
    stream: r.stream as string,
    recordId: text(r.record_id),
    origin: text(r.origin),
    reason: r.reason as string,
    payload: JSON.parse(r.payload as string),
    at: r.at as string,
  };
}

/** A `destinations` row (undefined: never delivered). */
export function destinationStatusOfRow(destination: string, r: Row | undefined): DestinationStatus {
  if (!r) return { name: destination, eventSeq: 0 };
  return {
    name: destination,
    initializedAt: text(r.initialized_at),
    disabled: text(r.disabled),
    eventSeq: Number(r.event_seq),
    rateLevels: r.rate_levels ? JSON.parse(r.rate_levels as string) : undefined,
    lastRun: r.last_run ? JSON.parse(r.last_run as string) : undefined,
  };
}

/**
 * Why a `running` run row is abandoned, or undefined while it is not: a run of this host whose
 * process is gone, or any other run with no heartbeat since `policy.staleMs` before `now`.
 */
export function abandonedBecause(policy: AbandonedRunPolicy, now: Date): (row: Row) => string | undefined {
  const me = hostname();
  const staleBefore = new Date(now.getTime() - policy.staleMs).toISOString();
  return (row) => {
    const pid = row.pid === null || row.pid === undefined ? undefined : Number(row.pid);
    const host = text(row.host);
    const lastSign = text(row.heartbeat_at) ?? (row.started_at as string);
    if (host === me && pid !== undefined) return pid !== process.pid && !policy.isAlive(pid) ? `its process (pid ${pid} on ${host}) is gone` : undefined;
    if (lastSign >= staleBefore) return undefined;
    return host ? `no sign of life from pid ${pid} on ${host} since ${lastSign}` : `started by an older Tributary and no sign of life since ${lastSign}`;
  };
}
