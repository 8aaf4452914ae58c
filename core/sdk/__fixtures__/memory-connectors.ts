/**
 * Small in-memory connectors for testing the kit runner itself: a correct one,
 * and the flaws the kit must catch (each selected by `flaw`).
 */
import { z } from 'zod';
import type { DestinationConnector, SourceConnector, SourceMessage, WriteResult } from '../../plugin/types.js';

export type SourceFlaw = 'none' | 'dup-on-resume' | 'never-yields';

const sourceConfig = z.object({ rows: z.number().int().nonnegative() }).strict();
type Row = { id: number; c: number; email: string };

/** Rows 1..n; cursor `c` = ceil(id/2), so every pair ties; a checkpoint after every record. */
const rowsOf = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, c: Math.ceil((i + 1) / 2), email: `p${i + 1}@example.com` }));

export function memorySource(id: string, flaw: SourceFlaw): SourceConnector<z.infer<typeof sourceConfig>> {
  return {
    id,
    kind: 'source',
    spec: { config: sourceConfig },
    async check(ctx) {
      return ctx.config.rows > 0 ? { ok: true } : { ok: false, message: 'rows must be at least 1' };
    },
    async discover() {
      return [{ name: 'people', fields: { id: { type: ['integer'] }, c: { type: ['integer'] }, email: { type: ['string'] } }, primaryKey: ['id'], cursorCandidates: ['c'], supportedModes: ['incremental'] }];
    },
    async *read(ctx, streams, state): AsyncIterable<SourceMessage> {
      if (flaw === 'never-yields') await new Promise(() => undefined);
      for (const s of streams) {
        const from = state[s.name] as { c: number; id: number } | undefined;
        // The flaw: resuming on `c >= saved` alone re-reads the records that tie with the checkpoint.
        const after = (r: Row) => !from || (flaw === 'dup-on-resume' ? r.c >= from.c : r.c > from.c || (r.c === from.c && r.id > from.id));
        let last = from;
        for (const r of rowsOf(ctx.config.rows).filter(after)) {
          yield { type: 'record', stream: s.name, data: { ...r } };
          last = { c: r.c, id: r.id };
          yield { type: 'state', stream: s.name, state: { ...last } };
        }
        yield { type: 'state', stream: s.name, state: last ? { ...last } : {} };
      }
    },
  };
}

export type DestinationFlaw = 'none' | 'retryable-as-permanent' | 'never-returns';

const destinationConfig = z.object({ mode: z.enum(['ok', 'transient', 'limited']).default('ok') }).strict();

export function memoryDestination(id: string, flaw: DestinationFlaw): DestinationConnector<z.infer<typeof destinationConfig>> {
  const held = new Map<string, unknown>();
  return {
    id,
    kind: 'destination',
    delivery: 'incremental',
    spec: { config: destinationConfig },
    capabilities: { delete: true },
    async check() {
      return { ok: true };
    },
    async write(ctx, batch) {
      if (flaw === 'never-returns') await new Promise(() => undefined);
      const out: WriteResult[] = [];
      for (const item of batch) {
        await ctx.rate.take();
        if (ctx.config.mode === 'transient') {
          out.push(flaw === 'retryable-as-permanent' ? { status: 'permanent', reason: '503 Service Unavailable' } : { status: 'retryable', reason: '503 Service Unavailable' });
        } else if (ctx.config.mode === 'limited') {
          out.push({ status: 'retryable', reason: '429 Too Many Requests', retryAfterMs: 1000 });
        } else if (item.op === 'delete') {
          held.delete(item.previous?.ref ?? item.key);
          out.push({ status: 'ok' });
        } else if (!item.profile) {
          out.push({ status: 'permanent', reason: `upsert ${item.key} has no profile` });
        } else {
          held.set(item.key, item.profile);
          out.push({ status: 'ok' });
        }
      }
      return out;
    },
  };
}
