import { z } from 'zod';
import { ConnectionError } from '../../core/errors.js';
import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION, type DestinationConnector, type SourceConnector, type DestinationItem, type WriteResult } from '../../core/plugin/types.js';

const rowsSchema = z.array(z.record(z.string(), z.unknown()));

/**
 * A source whose rows are written inline in YAML: real paging and real
 * checkpoints (cursor + key), so engine tests see state advance and resume.
 */
export const inlineSource: SourceConnector<{ checkpointEvery: number; failFirstReadAfter?: number; streams: Record<string, Array<Record<string, unknown>>> }> = {
  id: 'inline',
  kind: 'source',
  spec: {
    config: z.object({
      checkpointEvery: z.number().int().min(1).default(2),
      /** Simulate a server that drops the first (stateless) read after this many records. */
      failFirstReadAfter: z.number().int().min(1).optional(),
      streams: z.record(z.string(), rowsSchema),
    }),
  },
  async check() {
    return { ok: true };
  },
  async discover(ctx) {
    return Object.entries(ctx.config.streams).map(([name, rows]) => ({
      name,
      fields: Object.fromEntries(Object.keys(rows[0] ?? {}).map((k) => [k, { type: ['string' as const] }])),
      primaryKey: ['id'],
      cursorCandidates: ['updated_at'],
      supportedModes: ['full_refresh' as const, 'incremental' as const],
    }));
  },
  async *read(ctx, streams, state) {
    for (const s of streams) {
      const pk = s.primaryKey?.[0] ?? 'id';
      const cursor = s.cursorField ?? pk;
      const rows = [...(ctx.config.streams[s.name] ?? [])].sort((a, b) =>
        String(a[cursor]) === String(b[cursor]) ? String(a[pk]).localeCompare(String(b[pk])) : String(a[cursor]).localeCompare(String(b[cursor])),
      );
      const from = s.mode === 'incremental' ? state[s.name] : undefined;
      let n = 0;
      let last: { c: string; k: string } | undefined;
      for (const row of rows) {
        const c = String(row[cursor]);
        const k = String(row[pk]);
        if (from && (c < String(from.c) || (c === String(from.c) && k <= String(from.k)))) continue;
        if (!from && ctx.config.failFirstReadAfter !== undefined && n >= ctx.config.failFirstReadAfter) {
          throw new ConnectionError(`inline server dropped the connection after ${n} records`, { stream: s.name });
        }
        yield { type: 'record', stream: s.name, data: row, origin: `inline ${s.name}#${k}` };
        last = { c, k };
        if (++n % ctx.config.checkpointEvery === 0) yield { type: 'state', stream: s.name, state: last };
      }
      yield { type: 'state', stream: s.name, state: last ?? from ?? {} };
    }
  },
};

/** A destination that keeps what it was sent, and can be told to fail. */
export function memoryDestination(): DestinationConnector<{ failTimes: number; rejectKeys: string[] }> & {
  received: DestinationItem[][];
} {
  const received: DestinationItem[][] = [];
  let failures = 0;
  return {
    id: 'memory',
    kind: 'destination',
    delivery: 'incremental',
    received,
    spec: { config: z.object({ failTimes: z.number().int().default(0), rejectKeys: z.array(z.string()).default([]) }) },
    async check() {
      return { ok: true };
    },
    async write(ctx, batch): Promise<WriteResult[]> {
      if (failures < ctx.config.failTimes) {
        failures++;
        return batch.map(() => ({ status: 'retryable', reason: 'HTTP 503 from memory', retryAfterMs: 1 }));
      }
      received.push(batch);
      return batch.map((i) => (ctx.config.rejectKeys.includes(i.key) ? { status: 'permanent', reason: 'rejected by memory' } : { status: 'ok' }));
    },
  };
}

export function testPlugin(dest = memoryDestination()) {
  return {
    dest,
    plugin: definePlugin({ name: 'test-inline', version: '0.0.0', apiVersion: PLUGIN_API_VERSION, sources: [inlineSource], destinations: [dest] }),
  };
}
