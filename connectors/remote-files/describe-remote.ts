import type { CheckResult, ConnectorContext, FieldSchema, StreamDescriptor } from '../../core/plugin/types.js';
import { guessCursorFields, guessPrimaryKey } from '../file/describe.js';
import { segmentMatcher } from '../file/glob.js';
import type { FileRow } from '../file/read-files.js';
import { remoteStreamSchema, type RemoteStreamConfig } from './config.js';
import { readXlsx } from '../file/xlsx-reader.js';
import { formatOf } from './file-rows.js';
import { LineChunks } from './line-chunks.js';
import type { RemoteReadOptions, RemoteSourceConfig } from './read-remote.js';
import { joinRemote, unsafeNameReason, type RemoteSession } from './remote-fs.js';
import { csvRows, jsonlRows } from './rows.js';

/** Rows sampled per file by `discover`. */
const SAMPLE_ROWS = 100;
/** Bytes downloaded at most per file by `discover`. */
const SAMPLE_BYTES = 256 * 1024;
const EXTENSIONS = /\.(csv|tsv|txt|jsonl|ndjson|xlsx|xlsm)$/i;

function fieldType(v: unknown): FieldSchema['type'][number] {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'boolean' ? 'boolean' : typeof v === 'object' ? 'object' : 'string';
}

/** Rows of a workbook's first (or configured) sheet: the whole ZIP is streamed, reading stops after the sample. */
function xlsxSample(session: RemoteSession, path: string, size: number, config: RemoteStreamConfig): AsyncIterable<FileRow> {
  if (size === 0) return (async function* () {})();
  const { sheet, headerRow, mergedHeader } = config;
  return readXlsx({ stream: session.read(path, 0, size) }, { display: path, sheet, headerRow, mergedHeader, cellErrors: 'omit' });
}

async function describeFile(session: RemoteSession, path: string, size: number, config: RemoteStreamConfig, ctx: ConnectorContext<unknown>) {
  const xlsx = formatOf(config, path) === 'xlsx';
  const jsonl = formatOf(config, path) === 'jsonl';
  const types = new Map<string, Set<FieldSchema['type'][number]>>();
  let columns: string[] = [];
  let n = 0;
  const text = () => {
    const lines = new LineChunks(1, 0);
    return { chunks: lines.text(session.read(path, 0, Math.min(size, SAMPLE_BYTES)), config.encoding), config, display: path, logger: ctx.logger };
  };
  const rows: AsyncIterable<FileRow> = xlsx ? xlsxSample(session, path, size, config) : jsonl ? jsonlRows(text()) : csvRows({ ...text(), onColumns: (c) => (columns = c) });
  for await (const r of rows) {
    if (r.kind === 'row') {
      for (const [k, v] of Object.entries(r.data)) types.set(k, (types.get(k) ?? new Set()).add(jsonl || xlsx ? fieldType(v) : 'string'));
    }
    if (++n >= SAMPLE_ROWS) break;
  }
  for (const c of columns) if (!types.has(c)) types.set(c, new Set(['string']));
  const fields = Object.fromEntries([...types].map(([k, s]) => [k, { type: [...s].sort() } satisfies FieldSchema]));
  const names = Object.keys(fields);
  return { fields, primaryKey: guessPrimaryKey(names), cursorCandidates: guessCursorFields(names) };
}

const stem = (name: string) => name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'file';

/**
 * Without configured streams: one stream per CSV/JSONL file directly in the
 * connector `path`, named after the file. With them: each stream described
 * from the first file its path matches.
 */
export async function discoverRemote(
  ctx: ConnectorContext<RemoteSourceConfig>,
  opts: RemoteReadOptions,
  streams?: Array<{ name: string; config: unknown }>,
): Promise<StreamDescriptor[]> {
  const session = await opts.connect();
  try {
    const out: StreamDescriptor[] = [];
    const used = new Set<string>();
    const wanted = streams?.length
      ? streams.map((s) => ({ name: s.name, config: remoteStreamSchema.parse(s.config) }))
      : undefined;
    const targets = wanted ?? [{ name: '', config: remoteStreamSchema.parse({ path: '*' }) }];
    for (const t of targets) {
      const i = t.config.path.lastIndexOf('/');
      const dir = i === -1 ? ctx.config.path : joinRemote(ctx.config.path, t.config.path.slice(0, i));
      const match = segmentMatcher(i === -1 ? t.config.path : t.config.path.slice(i + 1));
      const files = (await session.list(dir))
        .filter((e) => e.isFile && !unsafeNameReason(e.name) && match.test(e.name) && (wanted || EXTENSIONS.test(e.name)))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const f of wanted ? files.slice(0, 1) : files) {
        let name = t.name || stem(f.name);
        for (let k = 2; !t.name && used.has(name); k++) name = `${stem(f.name)}_${k}`;
        used.add(name);
        const d = await describeFile(session, joinRemote(dir, f.name), f.size, t.config, ctx);
        out.push({ name, ...d, supportedModes: ['full_refresh', 'incremental'] });
      }
    }
    return out;
  } finally {
    await session.close();
  }
}

/** Connects, logs in and lists the connector `path` (and each stream's folder): one line when anything fails. */
export async function checkRemote(
  ctx: ConnectorContext<RemoteSourceConfig>,
  opts: RemoteReadOptions,
  streams?: Array<{ name: string; config: unknown }>,
): Promise<CheckResult> {
  let session: RemoteSession;
  try {
    session = await opts.connect();
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  try {
    const dirs = new Set([ctx.config.path]);
    for (const s of streams ?? []) {
      const p = remoteStreamSchema.parse(s.config).path;
      const i = p.lastIndexOf('/');
      if (i !== -1) dirs.add(joinRemote(ctx.config.path, p.slice(0, i)));
    }
    for (const d of dirs) {
      try {
        await session.list(d);
      } catch (err) {
        const why = session.classify(err) === 'missing' ? 'does not exist' : `cannot be listed (${(err as Error).message})`;
        return { ok: false, message: `remote directory ${opts.display(d)} ${why}` };
      }
    }
    return { ok: true };
  } finally {
    await session.close();
  }
}
