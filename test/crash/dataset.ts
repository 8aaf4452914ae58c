import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * A CRM export and an order file that exercise what a crash can break: merges
 * of two existing profiles (within a batch and across batches), name-guard
 * refusals (a household phone), external-id limit refusals, blocked values,
 * unparsable rows and records without a usable identifier in every batch, and
 * track events that roll up into computed traits. Every 500 rows are one
 * batch (checkpointEvery 500, batchSize 400: each checkpoint flushes).
 */

export const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
export const DESTINATION_PLUGIN = join(process.cwd(), 'test', 'crash', 'jsonl-destination.mjs');
export const ROWS_PER_BATCH = 500;

/**
 * Whether the CLI children of this test run commit on the SQLite store's commit thread where their YAML does not set
 * `commitThread`: the store's default is on, and `TRIB_COMMIT_THREAD=0` turns it off for a whole run, as in the store.
 */
export const THREAD_BY_DEFAULT = process.env.TRIB_COMMIT_THREAD !== '0';

/** A temp folder of its own, so parallel runs on one machine never meet. */
export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `trib-${label}-${process.pid}-${randomBytes(3).toString('hex')}-`));
}

const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Lines of customers.csv after the header; `customers` must be a multiple of 50. */
export function customerLines(customers: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < customers; i++) {
    const k = i % 50;
    const b = Math.floor(i / 50);
    const t = at(i);
    const row = (name: string, email: string, phone: string, crm: string) => `${i},${name},${email},${phone},${t},${crm}`;
    if (k === 10) lines.push(row(`Ann${b}`, `a${b}@mail-box.net`, '', `A${b}`)); // profile A of block b
    else if (k === 20) lines.push(row(`Ann${b}`, '', `+1415555${pad(b, 4)}`, '')); // profile B: same person, phone only
    else if (k === 30 && b >= 12) lines.push(row(`Ann${b - 12}`, `a${b - 12}@mail-box.net`, `+1415555${pad(b - 12, 4)}`, '')); // merges A and B of 12 blocks (a batch) earlier
    else if (k === 12) lines.push(row(`Dora${b}`, `d${b}@mail-box.net`, '', ''));
    else if (k === 22) lines.push(row(`Dora${b}`, '', `+1415666${pad(b, 4)}`, ''));
    else if (k === 37) lines.push(row(`Dora${b}`, `d${b}@mail-box.net`, `+1415666${pad(b, 4)}`, '')); // merges within the batch
    else if (k === 40) lines.push(row(`Bob${b}`, `bob${b}@mail-box.net`, `+1415777${pad(b, 4)}`, `H${b}`));
    else if (k === 41) lines.push(row(`Carla${b}`, `carla${b}@mail-box.net`, `+1415777${pad(b, 4)}`, '')); // household phone: name guard refuses
    else if (k === 45) lines.push(`${i},Broken${b},only-three-columns`); // unparsable row: a dead letter from the reader
    else if (k === 46) lines.push(row(`Nomail${b}`, 'not-an-email', '', '')); // no usable identifier: a dead letter from the mapping
    else if (k === 48) lines.push(row(`Shop${b}`, 'noreply@shop-mail.net', `+1415888${pad(b, 4)}`, '')); // blocked email, links by phone only
    else if (k === 49) lines.push(row(`Bob${b}`, `bob${b}@mail-box.net`, '', `X${b}`)); // a second crm id for Bob: the external_id limit refuses
    else if (k % 4 === 3) lines.push(row(`P${i - 3}`, `person${i - 3}@mail-box.net`, '', `C${i - 3}`)); // an update of an earlier row's person
    else lines.push(row(`P${i}`, `person${i}@mail-box.net`, i % 5 === 0 ? `+1415${pad(2000000 + i, 7)}` : '', `C${i}`));
  }
  return lines;
}

/** Lines of orders.csv after the header: orders of the customers above, a bad row every 100. */
export function orderLines(orders: number, customers: number): string[] {
  const lines: string[] = [];
  for (let o = 0; o < orders; o++) {
    if (o % 100 === 50) {
      lines.push(`O${o},broken`);
      continue;
    }
    const b = (o * 7) % (customers / 50);
    const email = o % 3 === 0 ? `a${b}@mail-box.net` : `person${(o * 13) % customers}@mail-box.net`;
    lines.push(`O${o},${email},${(o % 17) + 0.25},${at(customers + o)}`);
  }
  return lines;
}

export function writeData(dir: string, customers: number, orders: number): void {
  writeFileSync(join(dir, 'customers.csv'), ['id,first_name,email,phone,updated_at,crm', ...customerLines(customers)].join('\n') + '\n');
  writeFileSync(join(dir, 'orders.csv'), ['id,email,amount,at', ...orderLines(orders, customers)].join('\n') + '\n');
}

/**
 * A config with its own store, an incremental destination (manual trigger: only the outbox matters) and computed traits.
 * `commitThread` sets the SQLite store's option of that name either way (absent: the store's default).
 */
export function writeConfig(dir: string, name: string, extra: { schedule?: string; commitThread?: boolean } = {}): { config: string; db: string } {
  const config = join(dir, `${name}.yaml`);
  const db = join(dir, `${name}.db`);
  writeFileSync(
    config,
    stringify({
      store: { sqlite: db, ...(extra.commitThread !== undefined ? { commitThread: extra.commitThread } : {}) },
      plugins: [DESTINATION_PLUGIN],
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          batchSize: 400,
          ...(extra.schedule ? { schedule: extra.schedule } : {}),
          config: { checkpointEvery: ROWS_PER_BATCH },
          streams: [
            {
              name: 'customers',
              primaryKey: 'id',
              config: { path: join(dir, 'customers.csv') },
              mapping: {
                identifiers: { email: 'email', phone: 'phone', 'external_id.crm': 'crm' },
                traits: { firstName: 'first_name' },
                observedAt: 'updated_at',
              },
            },
            {
              name: 'orders',
              kind: 'track',
              primaryKey: 'id',
              config: { path: join(dir, 'orders.csv') },
              mapping: { identifiers: { email: 'email' }, observedAt: 'at', event: { name: 'order', revenue: 'amount' } },
            },
          ],
        },
      ],
      resolution: {
        // Its counts follow the no-identifier rows into the dead letters (the default keeps them as profiles, issue 11).
        unidentified: 'dead-letter',
        computed: {
          orders: { event: 'order', op: 'count' },
          spent: { event: 'order', op: 'sum', property: 'revenue' },
          lastOrder: { event: 'order', op: 'last_time' },
        },
      },
      destinations: [{ name: 'feed', connector: 'test-jsonl', trigger: 'manual', config: { path: join(dir, `${name}-feed.jsonl`) } }],
    }),
  );
  return { config, db };
}

export interface SyncResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tributary sync --json`, with fault points armed when `fault` is given. */
export function runSync(config: string, fault?: string): SyncResult {
  const env = { ...process.env };
  delete env.TRIBUTARY_FAULT;
  if (fault) env.TRIBUTARY_FAULT = fault;
  const r = spawnSync(process.execPath, [CLI, 'sync', '--config', config, '--json'], { encoding: 'utf8', env });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test's event loop (for the daemon test's polling); `fault` as for runSync. */
export function startCli(args: string[], fault?: string) {
  const env = { ...process.env };
  delete env.TRIBUTARY_FAULT;
  if (fault) env.TRIBUTARY_FAULT = fault;
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
}
