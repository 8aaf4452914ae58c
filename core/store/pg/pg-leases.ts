import { hostname } from 'node:os';
import type { PgConn } from './pg-conn.js';

/** Is a process of this host alive? (signal 0 checks without touching it; EPERM means it exists.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Named leases across processes and machines (one delivery per destination at
 * a time), with the SQLite store's take-over rules: the same owner takes it
 * again, an expired lease is taken over, and so is one whose holder ran on this
 * host and whose process is gone. Acquiring is atomic under concurrency:
 * a missing row is created with INSERT ... ON CONFLICT DO NOTHING (a concurrent
 * creator waits on the key until the first commits, then does nothing), an
 * existing one is read FOR UPDATE, so the decision and the write happen under
 * its row lock and two acquirers never both win.
 */
export class PgLeases {
  constructor(private readonly conn: PgConn) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<{ holder: string } | undefined> {
    const host = hostname();
    // A row released between our insert attempt and our read: try again (bounded; each round makes progress).
    for (let round = 0; round < 5; round++) {
      const result = await this.conn.tx(async (): Promise<{ taken: true } | { holder: string } | undefined> => {
        const now = Date.now();
        const inserted = await this.conn.q(
          'INSERT INTO leases(name, owner, pid, host, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING name',
          [name, owner, process.pid, host, now + ttlMs],
        );
        if (inserted.length) return { taken: true };
        const [r] = await this.conn.q<{ owner: string; pid: number; host: string; expires_at: string }>(
          'SELECT owner, pid, host, expires_at FROM leases WHERE name = $1 FOR UPDATE',
          [name],
        );
        if (!r) return undefined;
        if (r.owner !== owner && Number(r.expires_at) > now && !(r.host === host && !alive(Number(r.pid)))) {
          return { holder: `${r.host} pid ${String(r.pid)}` };
        }
        await this.conn.q('UPDATE leases SET owner = $2, pid = $3, host = $4, expires_at = $5 WHERE name = $1', [name, owner, process.pid, host, now + ttlMs]);
        return { taken: true };
      });
      if (result === undefined) continue;
      return 'holder' in result ? { holder: result.holder } : undefined;
    }
    throw new Error(`lease ${name}: taken and released repeatedly while acquiring; try again`);
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<void> {
    await this.conn.q('UPDATE leases SET expires_at = $1 WHERE name = $2 AND owner = $3', [Date.now() + ttlMs, name, owner]);
  }

  async release(name: string, owner: string): Promise<void> {
    await this.conn.q('DELETE FROM leases WHERE name = $1 AND owner = $2', [name, owner]);
  }
}
