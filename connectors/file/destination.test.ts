import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../core/errors.js';
import type { DestinationItem, ProfileDocument } from '../../core/plugin/types.js';
import type { FileDestinationConfig } from './config.js';
import { classifyWriteError, createFileDestination, fileDestination, openLocalTemp } from './destination.js';
import { CSV_COLUMNS } from './profile-rows.js';
import { context, tempDir, type TempDir } from './__fixtures__/harness.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const profile = (id: string, traits: Record<string, unknown> = {}, over: Partial<ProfileDocument> = {}): ProfileDocument => ({
  id,
  identifiers: [{ type: 'email', value: `${id}@example.com` }],
  traits,
  records: [{ source: 'crm', stream: 'customers', recordId: id }],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  ...over,
});
const upsert = (p: ProfileDocument): DestinationItem => ({ key: p.id, op: 'upsert', profile: p });

/** A disk that fails the next data write with the given code. */
function faultyDisk() {
  const state: { failNext?: string } = {};
  const dest = createFileDestination({
    async openTemp(path) {
      const real = await openLocalTemp(path);
      return {
        ...real,
        async write(data, position) {
          const code = state.failNext;
          if (code) {
            state.failNext = undefined;
            // Half the data reaches the disk before the failure, as it can for real.
            await real.write(data.subarray(0, data.length >> 1), position);
            throw Object.assign(new Error(`simulated ${code}`), { code });
          }
          return real.write(data, position);
        },
      };
    },
  });
  return { dest, state };
}

describe('file destination: atomic snapshot', () => {
  it('leaves the old file intact until commit, and abort removes the temp file', async () => {
    const target = join(dir.path, 'profiles.jsonl');
    await writeFile(target, 'old\n');
    const ctx = context<FileDestinationConfig>({ path: target, format: 'jsonl', createDirectories: true });
    await fileDestination.begin!(ctx);
    expect(await fileDestination.write(ctx, [upsert(profile('a'))])).toEqual([{ status: 'ok' }]);
    expect(await readFile(target, 'utf8')).toBe('old\n');
    expect(await readdir(dir.path)).toEqual(expect.arrayContaining([`.profiles.jsonl.tmp-${process.pid}`]));
    await fileDestination.abort!(ctx);
    expect(await readdir(dir.path)).toEqual(['profiles.jsonl']);
    expect(await readFile(target, 'utf8')).toBe('old\n');

    await fileDestination.begin!(ctx);
    await fileDestination.write(ctx, [upsert(profile('a')), { key: 'gone', op: 'delete' }, upsert(profile('b'))]);
    await fileDestination.commit!(ctx);
    expect(await readdir(dir.path)).toEqual(['profiles.jsonl']);
    const lines = (await readFile(target, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ProfileDocument);
    expect(lines).toEqual([profile('a'), profile('b')]);
  });

  it('creates missing parent directories', async () => {
    const target = join(dir.path, 'a', 'b', 'p.csv');
    const ctx = context<FileDestinationConfig>({ path: target, format: 'csv', createDirectories: true });
    expect(await fileDestination.check(ctx)).toEqual({ ok: true });
    await fileDestination.begin!(ctx);
    await fileDestination.commit!(ctx);
    expect(await readFile(target, 'utf8')).toBe(`${CSV_COLUMNS.join(',')}\n`);
  });

  it('refuses write before begin and a second begin on the same target', async () => {
    const ctx = context<FileDestinationConfig>({ path: join(dir.path, 'p.jsonl'), format: 'jsonl', createDirectories: true });
    await expect(fileDestination.write(ctx, [upsert(profile('a'))])).rejects.toThrow(/without begin/);
    await fileDestination.begin!(ctx);
    await expect(fileDestination.begin!(ctx)).rejects.toThrow(/already being written/);
    await fileDestination.abort!(ctx);
  });

  it('resolves a relative path against ctx.baseDir, and with createDirectories: false refuses a missing parent', async () => {
    const ctx = { ...context<FileDestinationConfig>({ path: 'sub/p.jsonl', format: 'jsonl', createDirectories: true }), baseDir: dir.path };
    await fileDestination.begin!(ctx);
    await fileDestination.write(ctx, [upsert(profile('a'))]);
    await fileDestination.commit!(ctx);
    expect(await readFile(join(dir.path, 'sub', 'p.jsonl'), 'utf8')).toContain('"id":"a"');

    const strict = context<FileDestinationConfig>({ path: join(dir.path, 'missing', 'x.csv'), format: 'csv', createDirectories: false });
    expect(await fileDestination.check(strict)).toEqual({ ok: false, message: expect.stringMatching(/missing does not exist/) });
    await expect(fileDestination.begin!(strict)).rejects.toThrow(/missing does not exist \(create it first\)/);
    expect(await readdir(dir.path)).toEqual(['sub']);
  });

  it('check refuses a directory as target', async () => {
    await mkdir(join(dir.path, 'd'));
    const res = await fileDestination.check(context<FileDestinationConfig>({ path: join(dir.path, 'd'), format: 'csv', createDirectories: true }));
    expect(res).toEqual({ ok: false, message: expect.stringMatching(/is a directory/) });
  });
});

describe('file destination: CSV layout', () => {
  it('writes a CSV that a standard parser reads back exactly', async () => {
    const target = join(dir.path, 'p.csv');
    const nasty = profile('p1', { firstName: 'Ann, "Jr."', lastName: ' O\'Neil\nSmith ', email: 'ann@example.com', vip: true }, { computed: { orders: 3 }, aliases: ['p0'] });
    const phoneOnly = profile('p2', {}, { identifiers: [{ type: 'phone', value: '+4712345678' }, { type: 'email', value: 'z@example.com' }] });
    const ctx = context<FileDestinationConfig>({ path: target, format: 'csv', createDirectories: true });
    await fileDestination.begin!(ctx);
    await fileDestination.write(ctx, [upsert(nasty), upsert(phoneOnly)]);
    await fileDestination.commit!(ctx);
    const rows = parse(await readFile(target), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0])).toEqual([...CSV_COLUMNS]);
    expect(rows[0]).toMatchObject({ id: 'p1', email: 'ann@example.com', phone: '', firstName: 'Ann, "Jr."', lastName: ' O\'Neil\nSmith ', createdAt: nasty.createdAt });
    expect(JSON.parse(rows[0].traits_json)).toEqual(nasty.traits);
    expect(JSON.parse(rows[0].identifiers_json)).toEqual(nasty.identifiers);
    expect(JSON.parse(rows[0].computed_json)).toEqual({ orders: 3 });
    expect(JSON.parse(rows[0].records_json)).toEqual(nasty.records);
    expect(JSON.parse(rows[0].aliases_json)).toEqual(['p0']);
    expect(rows[1]).toMatchObject({ id: 'p2', email: 'z@example.com', phone: '+4712345678', computed_json: '{}', aliases_json: '[]' });
  });

  it('a profile that cannot be serialized fails alone, permanently', async () => {
    const ctx = context<FileDestinationConfig>({ path: join(dir.path, 'p.jsonl'), format: 'jsonl', createDirectories: true });
    await fileDestination.begin!(ctx);
    const results = await fileDestination.write(ctx, [upsert(profile('a')), upsert(profile('b', { big: 10n })), upsert(profile('c'))]);
    await fileDestination.commit!(ctx);
    expect(results.map((r) => r.status)).toEqual(['ok', 'permanent', 'ok']);
    expect(results[1]).toMatchObject({ reason: expect.stringMatching(/profile b cannot be serialized/) });
    expect((await readFile(join(dir.path, 'p.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
  });
});

describe('file destination: disk errors', () => {
  it('ENOSPC is retryable and the retried batch is not written twice', async () => {
    const { dest, state } = faultyDisk();
    const target = join(dir.path, 'p.jsonl');
    const ctx = context<FileDestinationConfig>({ path: target, format: 'jsonl', createDirectories: true });
    await dest.begin!(ctx);
    await dest.write(ctx, [upsert(profile('a'))]);
    state.failNext = 'ENOSPC';
    const batch = [upsert(profile('b')), upsert(profile('c'))];
    const failed = await dest.write(ctx, batch);
    expect(failed.map((r) => r.status)).toEqual(['retryable', 'retryable']);
    expect(failed[0]).toMatchObject({ reason: expect.stringMatching(/ENOSPC/) });
    expect(await dest.write(ctx, batch)).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    await dest.commit!(ctx);
    const ids = (await readFile(target, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as ProfileDocument).id);
    expect(ids).toEqual(['a', 'b', 'c']);
  });

  it('EACCES is permanent, and the snapshot is then never published', async () => {
    const { dest, state } = faultyDisk();
    const target = join(dir.path, 'p.csv');
    await writeFile(target, 'previous snapshot\n');
    const ctx = context<FileDestinationConfig>({ path: target, format: 'csv', createDirectories: true });
    await dest.begin!(ctx);
    state.failNext = 'EACCES';
    const results = await dest.write(ctx, [upsert(profile('a'))]);
    expect(results).toEqual([{ status: 'permanent', reason: expect.stringMatching(/EACCES/) }]);
    expect((await dest.write(ctx, [upsert(profile('b'))]))[0].status).toBe('permanent');
    const commit = dest.commit!(ctx);
    await expect(commit).rejects.toBeInstanceOf(ConnectionError);
    await expect(commit).rejects.toThrow(/not published/);
    expect(await readFile(target, 'utf8')).toBe('previous snapshot\n');
    expect(await readdir(dir.path)).toEqual(['p.csv']);
  });

  it.each([
    ['ENOSPC', 'retryable'],
    ['EDQUOT', 'retryable'],
    ['EMFILE', 'retryable'],
    ['EIO', 'retryable'],
    ['EACCES', 'permanent'],
    ['EPERM', 'permanent'],
    ['EROFS', 'permanent'],
  ])('%s is %s', (code, status) => {
    const r = classifyWriteError(Object.assign(new Error('x'), { code }), '/tmp/f');
    expect(r.status).toBe(status);
    expect(r.reason).toContain(code);
  });
});
