/** Templates for a scaffolded source: a JSON-file source with a cursor and a tie-safe checkpoint. */
import type { ScaffoldNames } from './scaffold-names.js';

export function sourceTemplate(n: ScaffoldNames): string {
  return `import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConnectorContext, SourceConnector, SourceMessage, StreamState } from '${n.typesImport}';
import { sourceConfig, type SourceConfig } from './config.js';

/** One record as the fixture file holds it. Replace with what your system returns. */
type Row = Record<string, unknown> & { id: string | number; updated_at: string };

const CURSOR = 'updated_at';

// TODO(${n.id}): replace this with a call to your system (a page of an API, a query).
async function loadRows(ctx: ConnectorContext<SourceConfig>): Promise<Row[]> {
  const file = resolve(ctx.baseDir ?? process.cwd(), ctx.config.path);
  const rows = JSON.parse(await readFile(file, 'utf8')) as Row[];
  if (!Array.isArray(rows)) throw new Error(\`\${file}: expected a JSON array of records\`);
  return rows;
}

/** Order by cursor, then id: records with the same cursor value keep a stable order, so a checkpoint among them is exact. */
const compare = (a: { c: string; id: string }, b: { c: string; id: string }) => (a.c < b.c ? -1 : a.c > b.c ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const ${n.camel}Source: SourceConnector<SourceConfig> = {
  id: '${n.id}',
  kind: 'source',
  spec: { config: sourceConfig, secrets: [] },

  async check(ctx) {
    try {
      await loadRows(ctx);
      return { ok: true };
    } catch (err) {
      return { ok: false, message: \`cannot read \${ctx.config.path}: \${(err as Error).message}\` };
    }
  },

  async discover(ctx) {
    const rows = await loadRows(ctx);
    type Kind = 'string' | 'number' | 'boolean' | 'null';
    const fields: Record<string, { type: Kind[] }> = {};
    for (const r of rows.slice(0, 100)) {
      for (const [k, v] of Object.entries(r)) {
        const t: Kind = v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
        fields[k] = { type: [...new Set([...(fields[k]?.type ?? []), t])] };
      }
    }
    return [{ name: 'people', fields, primaryKey: ['id'], cursorCandidates: [CURSOR], supportedModes: ['full_refresh', 'incremental'] }];
  },

  /** Yields records in cursor order and says where to resume; the engine saves the state. */
  async *read(ctx, streams, state): AsyncIterable<SourceMessage> {
    const rows = (await loadRows(ctx))
      .map((data) => ({ data, at: { c: String(data[CURSOR]), id: String(data.id) } }))
      .sort((a, b) => compare(a.at, b.at));
    for (const stream of streams) {
      const from = state[stream.name] as (StreamState & { cursor: string; id: string }) | undefined;
      let since = 0;
      for (const { data, at } of rows) {
        if (ctx.signal.aborted) return;
        if (stream.mode === 'incremental' && from && compare(at, { c: from.cursor, id: from.id }) <= 0) continue;
        yield { type: 'record', stream: stream.name, data, origin: \`\${ctx.config.path}#\${at.id}\` };
        if (++since >= ctx.config.checkpointEvery) {
          since = 0;
          yield { type: 'state', stream: stream.name, state: { cursor: at.c, id: at.id } };
        }
      }
      const last = rows[rows.length - 1]?.at;
      const end = last && (!from || compare(last, { c: from.cursor, id: from.id }) > 0) ? last : from ? { c: from.cursor, id: from.id } : undefined;
      yield { type: 'state', stream: stream.name, state: end ? { cursor: end.c, id: end.id } : {} };
    }
  },
};
`;
}
