import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';

/**
 * CPU and load readings for the scale benchmark, from /proc (Linux only) and the servers' own counters.
 * Times are CPU seconds (user + system).
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on). */
const HZ = 100;

function statFields(path: string): string[] | undefined {
  try {
    const s = readFileSync(path, 'utf8');
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process is gone
  }
}

/** utime + stime of a live process, or undefined once it exited. */
export function procCpu(pid: number): number | undefined {
  const f = statFields(`/proc/${pid}/stat`);
  // After "pid (comm) ": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
  return f ? (Number(f[11]) + Number(f[12])) / HZ : undefined;
}

/** CPU of this process's children that exited and were waited for (cutime + cstime). */
export function reapedChildrenCpu(): number {
  const f = statFields('/proc/self/stat')!;
  return (Number(f[13]) + Number(f[14])) / HZ;
}

/** Busy and total CPU seconds of the whole machine, summed over its cores (/proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, x) => a + x, 0);
  const idle = v[3] + v[4];
  return { busy: (total - idle) / HZ, total: total / HZ };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Local TCP ports of the connections the given processes hold to `remotePort` on this machine. */
export function clientPorts(pids: number[], remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let rows: string[] = [];
    try {
      rows = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      const c = row.trim().split(/\s+/);
      if (c.length < 10 || !inodes.has(c[9])) continue;
      const local = parseInt(c[1].split(':').pop()!, 16);
      const remote = parseInt(c[2].split(':').pop()!, 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

/**
 * The CPU of the PostgreSQL backends serving the given client processes. Backends come and go with the
 * pools' connections, so `sample()` is called often; each backend counts from its first sighting (or from
 * the baseline for those alive at `start`) to its last. Background processes (WAL writer, checkpointer)
 * are not in it.
 */
export class PgBackendCpu {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  constructor(private readonly admin: pg.Client) {}

  async sample(clientPids: number[]): Promise<void> {
    const ports = clientPorts(clientPids, 5432);
    if (!ports.length) return;
    const r = await this.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports]);
    for (const { pid } of r.rows) {
      const cpu = procCpu(pid);
      if (cpu === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.baselineTaken ? 0 : cpu);
      this.last.set(pid, cpu);
    }
  }

  private baselineTaken = false;
  /** Called once when the measured window opens: backends seen before it count from now. */
  async start(clientPids: number[]): Promise<void> {
    await this.sample(clientPids);
    this.baselineTaken = true;
  }

  seconds(): { cpu: number; backends: number } {
    let cpu = 0;
    for (const [pid, v] of this.last) cpu += v - (this.first.get(pid) ?? 0);
    return { cpu, backends: this.last.size };
  }
}

/** Redis server counters (the whole server: other users of it are in them too). */
export async function redisCounters(redis: Redis): Promise<{ cpu: number; commands: number }> {
  const info = await redis.info();
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return { cpu: get('used_cpu_user') + get('used_cpu_sys'), commands: get('total_commands_processed') };
}

/** Server-wide WAL position, in bytes. */
export async function walBytes(admin: pg.Client): Promise<number> {
  const r = await admin.query<{ b: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS b");
  return Number(r.rows[0].b);
}

/** Rows written into one schema's tables (statistics collector) and its size on disk. */
export async function schemaWrites(admin: pg.Client, schema: string): Promise<{ inserted: number; updated: number; deleted: number; bytes: number }> {
  const r = await admin.query<{ ins: string; upd: string; del: string; bytes: string }>(
    `SELECT coalesce(sum(n_tup_ins),0)::text AS ins, coalesce(sum(n_tup_upd),0)::text AS upd, coalesce(sum(n_tup_del),0)::text AS del,
            coalesce(sum(pg_total_relation_size(relid)),0)::text AS bytes
       FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
  const x = r.rows[0];
  return { inserted: Number(x.ins), updated: Number(x.upd), deleted: Number(x.del), bytes: Number(x.bytes) };
}
