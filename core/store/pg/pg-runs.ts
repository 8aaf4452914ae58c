import { hostname } from 'node:os';
import type { AbandonedRunPolicy, FinishedStatus, RunRecord, RunSummary } from '../types.js';
import type { PgConn } from './pg-conn.js';
import { abandonedBecause, runOfRow } from '../row-shapes.js';

type Row = Record<string, unknown>;

/**
 * The `runs` table of the PostgreSQL store (as core/store/sqlite-runs.ts): who
 * runs what (pid, host), a heartbeat and the live counts while running, and how
 * each run ended. Workers on several hosts share it, so a run of another host
 * is only taken for dead when its heartbeat is stale.
 */
export class PgRuns {
  constructor(private readonly conn: PgConn) {}

  async start(name: string, kind: RunRecord['kind']): Promise<number> {
    const now = new Date().toISOString();
    const rows = await this.conn.q<{ id: string }>(
      "INSERT INTO runs(name, kind, started_at, status, pid, host, heartbeat_at) VALUES ($1, $2, $3, 'running', $4, $5, $3) RETURNING id",
      [name, kind, now, process.pid, hostname()],
    );
    return Number(rows[0].id);
  }

  async update(id: number, summary?: RunSummary): Promise<void> {
    const now = new Date().toISOString();
    if (summary) await this.conn.q("UPDATE runs SET summary = $1, heartbeat_at = $2 WHERE id = $3 AND status = 'running'", [JSON.stringify(summary), now, id]);
    else await this.conn.q("UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'", [now, id]);
  }

  async finish(id: number, status: FinishedStatus, summary: RunSummary | undefined, error?: string): Promise<void> {
    // Without a final summary the live counts stay: a failed run still committed what it committed.
    await this.conn.q('UPDATE runs SET finished_at = $1, status = $2, summary = COALESCE($3, summary), error = $4 WHERE id = $5', [
      new Date().toISOString(),
      status,
      summary ? JSON.stringify(summary) : null,
      error ?? null,
      id,
    ]);
  }

  async interruptAbandoned(opts: AbandonedRunPolicy): Promise<RunRecord[]> {
    const now = opts.now ?? new Date();
    const why = abandonedBecause(opts, now);
    const select = "SELECT * FROM runs WHERE status = 'running' ORDER BY id";
    // Called before every run: write only when there is something to mark.
    if (!(await this.conn.q(select)).some((r) => why(r) !== undefined)) return [];
    return this.conn.tx(async () => {
      // FOR UPDATE: two workers marking at once mark each run once, and not one that has just finished.
      const gone: RunRecord[] = [];
      for (const row of await this.conn.q(`${select} FOR UPDATE`)) {
        const reason = why(row);
        if (!reason) continue;
        const error = `interrupted: ${reason}; the next run resumes from the last committed checkpoint`;
        const marked = await this.conn.q(
          "UPDATE runs SET status = 'interrupted', finished_at = $1, error = $2 WHERE id = $3 AND status = 'running' RETURNING id",
          [now.toISOString(), error, row.id],
        );
        if (marked.length) gone.push({ ...runOfRow(row), status: 'interrupted', finishedAt: now.toISOString(), error });
      }
      return gone;
    });
  }

  async recent(limit: number): Promise<RunRecord[]> {
    return (await this.conn.q('SELECT * FROM runs ORDER BY id DESC LIMIT $1', [limit])).map(runOfRow);
  }
}

