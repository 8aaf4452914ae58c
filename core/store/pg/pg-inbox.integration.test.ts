import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteInboxWriter } from '../sqlite-inbox.js';
import { SqliteStore } from '../sqlite-store.js';
import { GroupCommitter } from '../../serve/group-commit.js';
import type { InboxAppendResult, InboxEvent, InboxReader } from '../../serve/contract.js';
import { INBOX_LOCK_SQL, LOCK_INBOX, PgInboxReader, PgInboxWriter } from './pg-inbox.js';
import { TEST_PG_URL, testConn } from './__fixtures__/pg-test.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

type Reader = InboxReader & { release(source: string, stream: string, uptoSeq: number): Promise<number> };
interface Writer {
  appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]>;
  /** The backlog as the server's probe will next report it. */
  backlog(): Promise<number>;
}

function openSqlite(): { reader: Reader; writer: Writer } {
  const dir = mkdtempSync(join(tmpdir(), `trib-inbox-${process.pid}-`));
  const file = join(dir, 'store.db');
  const store = new SqliteStore(file);
  const writer = new SqliteInboxWriter(file);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close(), () => writer.close());
  return { reader: store.inbox, writer: { appendGroups: (g) => writer.appendGroups(g), backlog: async () => writer.backlog() } };
}

function openPg(): { reader: Reader; writer: Writer; pgWriter: PgInboxWriter; schema: string } {
  const { conn, schema, drop } = testConn('inbox');
  const writer = new PgInboxWriter({ url: TEST_PG_URL, schema });
  cleanup.push(drop, () => writer.close());
  return {
    reader: new PgInboxReader(conn),
    writer: { appendGroups: (g) => writer.appendGroups(g), backlog: async () => (await writer.refresh(), writer.backlog()) },
    pgWriter: writer,
    schema,
  };
}

const ev = (id: string, stream = 'track', source = 'web'): InboxEvent => ({ source, stream, dedupKey: id, receivedAt: new Date().toISOString(), body: { messageId: id } });

describe.each([
  ['sqlite', openSqlite],
  ['postgres', openPg],
] as const)('inbox on %s', (_kind, open) => {
  it('stores a (source, dedupKey) once, also after the first copy was drained', async () => {
    const { reader, writer } = open();
    expect(await writer.appendGroups([[ev('a'), ev('b'), ev('a')]])).toEqual([{ accepted: 2, duplicates: 1 }]);
    // The same key from another source is another message; across groups of one commit, a key counts once.
    expect(await writer.appendGroups([[ev('a', 'track', 'app')], [ev('c'), ev('n', 'page')], [ev('c')]])).toEqual([
      { accepted: 1, duplicates: 0 },
      { accepted: 2, duplicates: 0 },
      { accepted: 0, duplicates: 1 },
    ]);
    // Events without a key are always stored.
    const { dedupKey: _k, ...keyless } = ev('-');
    expect(await writer.appendGroups([[keyless, keyless]])).toEqual([{ accepted: 2, duplicates: 0 }]);
    const rows = await reader.read('web', { afterSeq: 0, limit: 10 });
    expect(rows.map((r) => r.dedupKey)).toEqual(['a', 'b', 'c', 'n', undefined, undefined]);
    expect(rows[0]).toMatchObject({ source: 'web', stream: 'track', body: { messageId: 'a' } });
    expect((await reader.read('web', { afterSeq: 0, limit: 10, stream: 'page' })).map((r) => r.dedupKey)).toEqual(['n']);
    expect((await reader.read('web', { afterSeq: rows[0].seq, limit: 2 })).map((r) => r.dedupKey)).toEqual(['b', 'c']);
    expect(await reader.release('web', 'track', rows[2].seq)).toBe(3);
    expect((await reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['n', undefined, undefined]);
    expect(await writer.appendGroups([[ev('b')]])).toEqual([{ accepted: 0, duplicates: 1 }]);
    // web: n and the two keyless; app: a.
    expect(await writer.backlog()).toBe(4);
    // A release covers its own stream only.
    expect(await reader.release('web', 'track', Number.MAX_SAFE_INTEGER)).toBe(2);
    expect((await reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['n']);
  });

  it('never hands out a seq again after the rows holding the highest ones were deleted', async () => {
    const { reader, writer } = open();
    await writer.appendGroups([[ev('a'), ev('b')]]);
    const [, b] = await reader.read('web', { afterSeq: 0, limit: 10 });
    await reader.release('web', 'track', b.seq);
    await writer.appendGroups([[ev('c')]]);
    const [c] = await reader.read('web', { afterSeq: b.seq, limit: 10 });
    expect(c.dedupKey).toBe('c');
    expect(c.seq).toBeGreaterThan(b.seq);
  });

  it('group commit: many requests share one transaction, each resolved after it', async () => {
    const { reader, writer } = open();
    const committer = new GroupCommitter(writer, { maxEvents: 1000, flushMs: 20 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => committer.append([ev(`m${i}`), ev(`m${i}`)])));
    expect(results.every((r) => r.accepted === 1 && r.duplicates === 1)).toBe(true);
    expect(committer.stats.flushes).toBe(1);
    expect((await reader.read('web', { afterSeq: 0, limit: 100 })).length).toBe(50);
    await committer.close();
  });

  it('a failed commit rejects every waiting request and leaves no row and no de-duplication key', async () => {
    const { reader, writer } = open();
    let fail = true;
    const committer = new GroupCommitter(
      { appendGroups: (g) => (fail ? writer.appendGroups([...g, [{ ...ev('bad'), body: undefined as never }]]) : writer.appendGroups(g)) },
      { maxEvents: 1000, flushMs: 1 },
    );
    await expect(Promise.all([committer.append([ev('x')]), committer.append([ev('y')])])).rejects.toThrow();
    expect(await reader.read('web', { afterSeq: 0, limit: 10 })).toEqual([]);
    fail = false;
    // The client's retry is stored: its key was rolled back with the failed transaction.
    expect(await committer.append([ev('x')])).toEqual({ accepted: 1, duplicates: 0 });
    await committer.close();
  });
});

describe('inbox on postgres', () => {
  it('commits seqs in the order they are handed out: an append waits for one still open, so no drain can read past an uncommitted seq', async () => {
    const { reader, writer, schema } = openPg();
    await writer.appendGroups([[ev('first')]]);
    // Another serve process in the middle of its commit: holding the inbox lock, its row written, not committed.
    const other = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema}` });
    await other.connect();
    cleanup.push(() => other.end());
    await other.query('BEGIN');
    await other.query(INBOX_LOCK_SQL, [LOCK_INBOX]);
    await other.query("INSERT INTO inbox(source, stream, dedup_key, received_at, body) VALUES ('web', 'track', 'slow', '2026-12-01T00:00:00Z', '{}')");
    let done = false;
    const mine = writer.appendGroups([[ev('fast')]]).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    // What a drain sees meanwhile: nothing after 'first'.
    expect((await reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['first']);
    await other.query('COMMIT');
    expect(await mine).toEqual([{ accepted: 1, duplicates: 0 }]);
    const rows = await reader.read('web', { afterSeq: 0, limit: 10 });
    expect(rows.map((r) => r.dedupKey)).toEqual(['first', 'slow', 'fast']);
  });

  it('gives up after lockWaitMs behind a writer that does not finish (the requests get 503), leaving no key behind', async () => {
    const { reader, schema } = openPg();
    const writer = new PgInboxWriter({ url: TEST_PG_URL, schema }, { lockWaitMs: 300 });
    cleanup.push(() => writer.close());
    await writer.appendGroups([[ev('warm')]]);
    const other = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema}` });
    await other.connect();
    cleanup.push(() => other.end());
    await other.query('BEGIN');
    await other.query(INBOX_LOCK_SQL, [LOCK_INBOX]);
    const started = Date.now();
    await expect(writer.appendGroups([[ev('k')]])).rejects.toThrow(/lock timeout/);
    expect(Date.now() - started).toBeLessThan(5000);
    await other.query('ROLLBACK');
    expect(await writer.appendGroups([[ev('k')]])).toEqual([{ accepted: 1, duplicates: 0 }]);
    expect((await reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['warm', 'k']);
  });

  it('a store in another schema of the database does not wait for this one\'s inbox lock', async () => {
    const a = openPg();
    const b = openPg();
    await a.writer.appendGroups([[ev('a0')]]);
    const holder = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${a.schema}` });
    await holder.connect();
    cleanup.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query(INBOX_LOCK_SQL, [LOCK_INBOX]);
    const other = new PgInboxWriter({ url: TEST_PG_URL, schema: b.schema }, { lockWaitMs: 300 });
    cleanup.push(() => other.close());
    // Schema a's appends are held; schema b's go through at once.
    expect(await other.appendGroups([[ev('b1')]])).toEqual([{ accepted: 1, duplicates: 0 }]);
    const blocked = new PgInboxWriter({ url: TEST_PG_URL, schema: a.schema }, { lockWaitMs: 300 });
    cleanup.push(() => blocked.close());
    await expect(blocked.appendGroups([[ev('a1')]])).rejects.toThrow(/lock timeout/);
    await holder.query('ROLLBACK');
    expect((await b.reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['b1']);
    expect((await a.reader.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['a0']);
  });

  it('the probes answer synchronously from the last measurement: ping false until the store was reached, backlog and lag after', async () => {
    const down = new PgInboxWriter({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 500 });
    cleanup.push(() => down.close());
    await down.refresh().catch(() => undefined);
    expect(down.ping()).toBe(false);
    await expect(down.appendGroups([[ev('a')]])).rejects.toThrow(/unreachable/);
    const { pgWriter } = openPg();
    await pgWriter.appendGroups([[{ ...ev('old'), receivedAt: new Date(Date.now() - 60_000).toISOString() }, ev('new')]]);
    await pgWriter.refresh();
    expect(pgWriter.ping()).toBe(true);
    expect(pgWriter.backlog()).toBe(2);
    expect(pgWriter.drainLagSeconds()).toBeGreaterThanOrEqual(59);
    // Between measurements the backlog counts this writer's own commits (the server adds only those after its call).
    await pgWriter.appendGroups([[ev('newer'), ev('new')]]);
    expect(pgWriter.backlog()).toBe(3);
  });
});
