import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { profileOfRow } from '../store/profile-codec.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), `trib-retention-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('retention in the daemon', () => {
  it('tributary run expires track records past their retention after a sync; later syncs still count them in computed traits', { timeout: 120_000 }, async () => {
    const recent = new Date(Date.now() - 86_400_000).toISOString();
    writeFileSync(join(dir, 'orders.csv'), ['order_id,email,amount,ordered_at', `o1,kit@river-mail.net,10,2020-01-01T00:00:00Z`, `o2,kit@river-mail.net,15,2021-06-01T00:00:00Z`, `o3,kit@river-mail.net,5,${recent}`].join('\n') + '\n');
    const db = join(dir, 'store.db');
    const cfg = {
      store: { sqlite: db },
      resolution: { nameGuard: false, computed: { orders: { op: 'count' }, spent: { op: 'sum', property: 'revenue' } } },
      sources: [
        {
          name: 'shop',
          connector: 'csv',
          schedule: '* * * * * *',
          retention: { trackRecords: '400d' },
          streams: [{ name: 'orders', kind: 'track', mode: 'full_refresh', primaryKey: 'order_id', config: { path: join(dir, 'orders.csv') }, mapping: { identifiers: { email: 'email' }, observedAt: 'ordered_at', event: { name: 'order_completed', properties: { amount: 'amount' }, revenue: 'amount' } } }],
        },
      ],
      destinations: [],
    };
    const file = join(dir, 'tributary.yaml');
    writeFileSync(file, stringify(cfg));
    const child = spawn('node', [CLI, '--config', file, 'run'], { cwd: dir, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', res));
    const deadline = Date.now() + 60_000;
    const syncsDone = () => (stderr.match(/sync shop done/g) ?? []).length;
    while (!stderr.includes('retention shop/orders: expired') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Two more syncs after the retention: each full-refresh read recomputes the profile from its stored records.
    const after = syncsDone() + 2;
    while (syncsDone() < after && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('retention shop/orders: expired 2 track record(s)');
    expect(syncsDone()).toBeGreaterThanOrEqual(3);
    const d = new Database(db, { readonly: true });
    try {
      const bodies = d.prepare("SELECT record_id, body FROM records WHERE kind = 'track' ORDER BY record_id").all() as Array<{ record_id: string; body: string }>;
      expect(bodies.map((b) => [b.record_id, 'expiredAt' in JSON.parse(b.body), JSON.parse(b.body).event.properties])).toEqual([
        ['o1', true, {}],
        ['o2', true, {}],
        ['o3', false, { amount: '5' }],
      ]);
      const profile = profileOfRow(d.prepare('SELECT id, created_at, updated_at, body FROM profiles').get() as Record<string, unknown>);
      expect(profile.computed).toMatchObject({ orders: 3, spent: 30 });
    } finally {
      d.close();
    }
  });
});
