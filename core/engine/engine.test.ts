import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { memoryDestination, testPlugin } from '../../test/kit/inline-source.js';
import type { SqliteStore } from '../store/sqlite-store.js';

const opened: Booted[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

const customers = [
  { id: '1', email: 'Ann@X.com ', phone: '(415) 555-2671', first: 'Ann', updated_at: '2026-01-01' },
  { id: '2', email: 'bob@x.com', phone: '', first: 'Bob', updated_at: '2026-01-02' },
  { id: '3', email: 'not-an-email', phone: 'nope', first: 'Nobody', updated_at: '2026-01-03' },
  { id: '4', email: 'ann@x.com', phone: '', first: 'Annie', updated_at: '2026-01-04' },
];

function writeConfig(streams: Record<string, unknown[]>, extra: Record<string, unknown> = {}, mapping: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'trib-engine-'));
  const file = join(dir, 'tributary.yaml');
  const cfg = {
    store: { sqlite: join(dir, 'store.db') },
    sources: [
      {
        name: 'crm',
        connector: 'inline',
        config: { streams },
        streams: [
          {
            name: 'customers',
            primaryKey: 'id',
            cursor: 'updated_at',
            mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first' }, observedAt: 'updated_at', ...mapping },
          },
        ],
      },
    ],
    destinations: [{ name: 'hook', connector: 'memory', retry: { attempts: 3, initialDelayMs: 1 } }],
    // These tests follow record 3 (no usable identifier) into the dead letters; the default keeps it as a profile (test below).
    resolution: { unidentified: 'dead-letter' },
    ...extra,
  };
  writeFileSync(file, stringify(cfg));
  return { dir, file };
}

async function start(file: string, dest = memoryDestination()) {
  const logger = captureLogger();
  const b = await boot({ configFile: file, logger, plugins: [testPlugin(dest).plugin] });
  opened.push(b);
  return { ...b, dest, logger };
}

describe('engine', () => {
  it('by default a record with no usable identifier becomes a profile of its own, with its field warnings (issue 11 item 2)', async () => {
    const { file } = writeConfig({ customers }, { resolution: {} });
    const { engine, store } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.ok).toBe(true);
    expect(out.summary!.streams.customers).toMatchObject({ read: 4, written: 4, deadLettered: 0, warnings: 2 });
    expect(await store.listDeadLetters({ limit: 10 })).toEqual([]);
    const rec3 = (await store.existingRecords(['crm/customers/3'])).get('crm/customers/3')!;
    expect(rec3.identifiers).toEqual([]);
    expect(rec3.warnings?.map((w) => w.field).sort()).toEqual(['email', 'phone']);
    const doc = (await store.profileDocument(rec3.profileId))!;
    expect(doc.traits.firstName).toBe('Nobody');
    expect(await store.countProfiles()).toBe(3);
  });

  it('unidentified: dead-letter per kind is accepted, and a bad value names the YAML path', async () => {
    const { file } = writeConfig({ customers }, { resolution: { unidentified: { identify: 'dead-letter' } } });
    const { engine, store } = await start(file);
    expect((await engine.runSync('crm')).summary!.streams.customers.deadLettered).toBe(1);
    expect(await store.countProfiles()).toBe(2);
    const bad = writeConfig({ customers }, { resolution: { unidentified: 'keep' } });
    await expect(start(bad.file)).rejects.toThrow(/resolution\.unidentified/);
  });

  it('runs a sync end to end: maps, dead-letters, resolves, checkpoints and delivers', async () => {
    const { file } = writeConfig({ customers });
    const { engine, store, dest } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.ok).toBe(true);
    expect(out.summary!.streams.customers).toEqual({ read: 4, written: 3, deadLettered: 1, warnings: 0, duplicates: 0, cursorWarnings: 0, warningsByReason: {} });
    expect(out.summary!.profiles.created).toBe(2);
    expect(await store.countProfiles()).toBe(2);
    const dl = await store.listDeadLetters({ limit: 10 });
    expect(dl).toEqual([expect.objectContaining({ sync: 'crm', stream: 'customers', recordId: '3', reason: expect.stringMatching(/^no usable identifier/) })]);
    expect(dl[0].payload).toEqual(customers[2]);
    expect(await store.loadState('crm')).toEqual({ customers: { c: '2026-01-04', k: '4' } });
    const delivered = dest.received.flat();
    expect(delivered.map((i) => i.profile!.traits.firstName).sort()).toEqual(['Annie', 'Bob']);
    expect(out.summary!.destinations).toEqual({ hook: expect.objectContaining({ delivered: 2, failed: 0, retried: 0, unchanged: 0, pending: 0 }) });
    expect(await store.pendingOutbox('hook', 10)).toEqual([]);
  });

  it('an incremental run reads only what is new and delivers only changed profiles', async () => {
    const { file } = writeConfig({ customers });
    const first = await start(file);
    await first.engine.runSync('crm');
    await first.close();
    opened.pop();
    const more = [...customers, { id: '5', email: 'bob@x.com', phone: '+1 415 555 2672', first: 'Robert', updated_at: '2026-02-01' }];
    const cfg = parse(readFileSync(file, 'utf8'));
    cfg.sources[0].config.streams.customers = more;
    writeFileSync(file, stringify(cfg));
    const second = await start(file);
    const out = await second.engine.runSync('crm');
    expect(out.summary!.streams.customers.read).toBe(1);
    expect(second.dest.received.flat().map((i) => i.profile!.traits.firstName)).toEqual(['Robert']);
  });

  it('retries retryable deliveries until they go through (backoff itself: core/delivery/delivery-failures.test.ts)', async () => {
    const { file } = writeConfig({ customers });
    const dest = memoryDestination();
    const { engine } = await start(file, dest);
    // The config is read by the connector: tell it to fail twice, then reject one profile.
    const raw = parse(readFileSync(file, 'utf8'));
    raw.destinations[0].config = { failTimes: 2 };
    writeFileSync(file, stringify(raw));
    await engine.runSync('crm', { deliverAfter: false });
    const again = await start(file, dest);
    const stats = await again.engine.deliverTo('hook');
    expect(stats).toMatchObject({ delivered: 2, failed: 0, retried: 4, pending: 0 });
    expect(await again.store.pendingOutbox('hook', 10)).toEqual([]);
  });

  it('a permanent delivery failure is dead-lettered with the reason and leaves the outbox', async () => {
    const { file } = writeConfig({ customers });
    const raw = parse(readFileSync(file, 'utf8'));
    const { engine, store } = await start(file);
    await engine.runSync('crm', { deliverAfter: false });
    const [first] = await store.pendingOutbox('hook', 1);
    raw.destinations[0].config = { rejectKeys: [first.profileId] };
    writeFileSync(file, stringify(raw));
    const again = await start(file);
    const stats = await again.engine.deliverTo('hook');
    expect(stats.failed).toBe(1);
    const dl = await again.store.listDeadLetters({ limit: 5, sync: 'hook' });
    expect(dl[0]).toMatchObject({ stream: 'profiles', recordId: first.profileId, reason: 'rejected by memory' });
    expect(await again.store.pendingOutbox('hook', 10)).toEqual([]);
  });

  it('a wrong column name in the mapping fails the sync with the YAML path, before anything is committed', async () => {
    const { file } = writeConfig({ customers }, {}, { traits: { firstName: 'frist_name' } });
    const { engine, store } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/tributary\.yaml:\d+, sync crm, stream customers: sources\[0\]\.streams\[0\]\.mapping\.traits\.firstName: field "frist_name" is not in the source data \(it has: id, email, phone, first, updated_at\)$/);
    expect(await store.countProfiles()).toBe(0);
    expect(await store.loadState('crm')).toEqual({});
    const runs = await store.recentRuns(1);
    expect(runs[0]).toMatchObject({ status: 'failed', name: 'crm' });
  });

  it('an unknown connector fails that sync with a clear message naming the YAML path', async () => {
    const { file } = writeConfig({ customers });
    const raw = parse(readFileSync(file, 'utf8'));
    raw.sources[0].connector = 'nosuch';
    writeFileSync(file, stringify(raw));
    const { engine } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.error).toMatch(/sources\[0\]\.connector: unknown source connector "nosuch" \(known: .*inline/);
  });

  it('a dropped connection is retried with backoff and resumes from the last checkpoint, losing and duplicating nothing', async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ id: String(i), email: `p${i}@mail-box.net`, phone: '', first: `N${i}`, updated_at: `2026-01-0${i + 1}` }));
    const { file } = writeConfig({ customers: many });
    const raw = parse(readFileSync(file, 'utf8'));
    raw.sources[0].config.failFirstReadAfter = 5;
    raw.sources[0].batchSize = 2;
    raw.sources[0].retry = { attempts: 3, initialDelayMs: 1 };
    writeFileSync(file, stringify(raw));
    const { engine, store, logger } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.ok).toBe(true);
    expect(logger.entries.some((e) => e.level === 'warn' && /dropped the connection after 5 records; retrying in \d+ ms \(attempt 2 of 3\)/.test(e.message))).toBe(true);
    expect((store as SqliteStore).counts().records).toBe(9);
    expect(await store.countProfiles()).toBe(9);
  });

  it('an incremental stream of a connector that needs a cursor must name one', async () => {
    const { file } = writeConfig({ customers });
    const raw = parse(readFileSync(file, 'utf8'));
    delete raw.sources[0].streams[0].cursor;
    writeFileSync(file, stringify(raw));
    const { engine } = await start(file);
    const out = await engine.runSync('crm');
    expect(out.error).toMatch(/tributary\.yaml:\d+, sync crm: sources\[0\]\.streams\[0\]\.cursor: expected a column name \(incremental inline streams need a cursor; or set mode: full_refresh\)$/);
  });

  it('a sync never runs twice at the same time', async () => {
    const { file } = writeConfig({ customers });
    const { engine } = await start(file);
    const [a, b] = await Promise.all([engine.runSync('crm'), engine.runSync('crm')]);
    expect([a.skipped, b.skipped]).toEqual([undefined, 'already-running']);
  });

  it('counts are consistent in the store after a run', async () => {
    const { file } = writeConfig({ customers });
    const { engine, store } = await start(file);
    await engine.runSync('crm');
    const counts = (store as SqliteStore).counts();
    expect(counts).toMatchObject({ records: 3, profiles: 2, dead_letters: 1, state: 1 });
  });
});
