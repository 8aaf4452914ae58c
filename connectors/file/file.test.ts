import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PluginRegistry } from '../../core/plugin/loader.js';
import { destinationConnectorKit } from '../../test/kit/destination-kit.js';
import { sourceConnectorKit } from '../../test/kit/source-kit.js';
import plugin from './index.js';
import type { CsvStreamConfig, FileDestinationConfig, FileSourceConfig, JsonlStreamConfig } from './config.js';
import { csvSource } from './csv-source.js';
import { createFileDestination, fileDestination, openLocalTemp } from './destination.js';
import { jsonlSource } from './jsonl-source.js';
import { fixture, stream, tempDir, type TempDir } from './__fixtures__/harness.js';

describe('file plugin', () => {
  it('provides csv, jsonl and xlsx sources and a snapshot file destination', () => {
    expect(plugin.name).toBe('file');
    expect(plugin.sources.map((s) => s.id)).toEqual(['csv', 'jsonl', 'xlsx']);
    expect(plugin.destinations.map((d) => [d.id, d.delivery])).toEqual([['file', 'snapshot']]);
  });

  it('loads through the plugin loader', async () => {
    const registry = new PluginRegistry();
    await registry.loadFile(fileURLToPath(new URL('./index.ts', import.meta.url)));
    expect(registry.broken).toEqual([]);
    expect(registry.list()).toMatchObject({ sources: ['csv', 'jsonl', 'xlsx'], destinations: ['file'] });
  });
});

// csv: one file, cursor on an ISO date with a tie at the maximum; the update appends to the same file.
{
  let dir: TempDir;
  const customers = () => join(dir.path, 'customers.csv');
  sourceConnectorKit<FileSourceConfig, CsvStreamConfig>({
    connector: csvSource,
    async setup() {
      dir = await tempDir();
      await writeFile(
        customers(),
        'id,email,updated_at\n' +
          '1,a@example.com,2024-01-01T00:00:00Z\n' +
          '2,b@example.com,2024-02-01T00:00:00Z\n' +
          '3,"c@example.com",2024-02-15\n' +
          '4,d@example.com,2024-03-01T00:00:00Z\n' +
          '5,e@example.com,2024-03-01T01:00:00+01:00\n',
      );
      return { path: join(dir.path, '*.csv'), checkpointEvery: 2 };
    },
    teardown: () => dir.remove(),
    stream: () => stream(csvSource, 'customers', { path: 'customers.csv' }, { cursorField: 'updated_at' }),
    expectedInitialCount: 5,
    keyOf: (d) => String(d.id),
    async addNewer() {
      // 6 ties with the saved maximum (same instant as 4 and 5) but was never read; 2 is updated.
      await appendFile(customers(), '6,f@example.com,2024-03-01T00:00:00.000Z\n2,b2@example.com,2024-04-01T00:00:00Z\n');
      return ['6', '2'];
    },
    farFutureState: () => ({ version: 1, files: {}, cursor: { field: 'updated_at', max: '9999-12-31', keys: [] } }),
    badConfigs: [
      { name: 'glob matching nothing', config: { path: '/nonexistent-tributary-dir/*.csv' }, message: /matches no file/ },
      { name: 'checkpointEvery zero', config: { checkpointEvery: 0 }, message: /checkpointEvery/ },
      { name: 'misspelt key', config: { pth: './drops' }, message: /pth/ },
    ],
  });
}

// jsonl: a directory as connector path, cursor on an epoch number, the newer rows arrive in a second file.
{
  let dir: TempDir;
  sourceConnectorKit<FileSourceConfig, JsonlStreamConfig>({
    connector: jsonlSource,
    async setup() {
      dir = await tempDir();
      const lines = [1, 2, 3, 4].map((i) => JSON.stringify({ id: i, email: `u${i}@example.com`, ts: 1700000000 + (i % 3) }));
      await writeFile(join(dir.path, 'people.jsonl'), `${lines.join('\n')}\n`);
      return { path: dir.path, checkpointEvery: 3 };
    },
    teardown: () => dir.remove(),
    stream: () => stream(jsonlSource, 'people', { path: 'people*.jsonl' }, { cursorField: 'ts' }),
    expectedInitialCount: 4,
    keyOf: (d) => String(d.id),
    async addNewer() {
      const lines = [5, 6].map((i) => JSON.stringify({ id: i, email: `u${i}@example.com`, ts: 1800000000 + i }));
      await writeFile(join(dir.path, 'people-2.jsonl'), `${lines.join('\n')}\n`);
      return ['5', '6'];
    },
    farFutureState: () => ({ version: 1, files: {}, cursor: { field: 'ts', max: '99999999999999', keys: [] } }),
    badConfigs: [
      { name: 'path that does not exist', config: { path: '/nonexistent-tributary-dir/people.jsonl' }, message: /matches no file/ },
      { name: 'path not a string', config: { path: 42 }, message: /path/ },
    ],
  });
}

const readJsonl = async (path: string) => {
  const out = new Map<string, unknown>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line) continue;
    const doc = JSON.parse(line) as { id: string };
    out.set(doc.id, doc);
  }
  return out;
};

{
  let dir: TempDir;
  destinationConnectorKit<FileDestinationConfig>({
    connector: fileDestination,
    async setup() {
      dir = await tempDir();
      return { path: join(dir.path, 'out', 'profiles.jsonl'), format: 'jsonl', createDirectories: true };
    },
    teardown: () => dir.remove(),
    readBack: (config) => readJsonl(config.path),
    badConfigs: [
      { name: 'unknown format', config: { path: './x.xml', format: 'xml' }, message: /format/ },
      { name: 'empty path', config: { path: '', format: 'jsonl' }, message: /path/ },
      { name: 'parent is a file', config: { path: join(fixture('bom.csv'), 'x.jsonl'), format: 'jsonl' }, message: /not a directory/ },
    ],
  });
}

// csv format, with a disk that can be told to fail: the kit's retryable and permanent cases.
{
  let dir: TempDir;
  let failNext: string | undefined;
  const faulty = createFileDestination({
    async openTemp(path) {
      const real = await openLocalTemp(path);
      return {
        ...real,
        async write(data, position) {
          if (failNext && position > 0) {
            const err = Object.assign(new Error('no space left on device'), { code: failNext });
            failNext = undefined;
            throw err;
          }
          return real.write(data, position);
        },
      };
    },
  });
  destinationConnectorKit<FileDestinationConfig>({
    connector: faulty,
    async setup() {
      dir = await tempDir();
      return { path: join(dir.path, 'profiles.csv'), format: 'csv', createDirectories: true };
    },
    teardown: () => dir.remove(),
    async readBack(config) {
      const rows = parse(await readFile(config.path), { columns: true }) as Array<Record<string, string>>;
      return new Map(rows.map((r) => [r.id, r]));
    },
    async failRetryable() {
      failNext = 'ENOSPC';
    },
    permanentItem: { key: 'no-profile', op: 'upsert' },
    badConfigs: [{ name: 'format missing', config: { path: './x.csv' }, message: /format/ }],
  });
}
