import { describe, expect, it } from 'vitest';
import { mappingSchema } from '../config/schema.js';
import { compileMapping, type MappingContext } from './mapping.js';

// observedAt answers are remembered per stream mapping: a remembered answer must be the one
// that stream's own dateFormat gives, and an invalid value must warn every time, not only once.

const READ_TIME = '2026-01-01T00:00:00.000Z';
const base: MappingContext = { source: 'crm', stream: 'people', kind: 'identify', primaryKey: ['id'], defaultRegion: 'US', now: () => READ_TIME };
const mapper = (more: Partial<MappingContext>) => compileMapping(mappingSchema.parse({ identifiers: { email: 'email' }, observedAt: 'updated' }), { ...base, ...more }).map;
const observed = (r: ReturnType<ReturnType<typeof mapper>>) => (r.ok ? r.record.observedAt : r.reason);

describe('mapping: remembered observedAt', () => {
  it("two streams read the same text by their own dateFormat, in either order and again", () => {
    const dmy = mapper({ dateFormat: 'DD.MM.YYYY' });
    const mdy = mapper({ dateFormat: 'MM.DD.YYYY' });
    for (let round = 0; round < 2; round++) {
      expect(observed(dmy({ id: `a${round}`, email: 'a@x.com', updated: '01.05.2024' }))).toBe('2024-05-01T00:00:00.000Z');
      expect(observed(mdy({ id: `b${round}`, email: 'b@x.com', updated: '01.05.2024' }))).toBe('2024-01-05T00:00:00.000Z');
    }
  });

  it('an invalid value falls back to the read time with its warning on every record that has it', () => {
    const map = mapper({});
    for (const id of ['1', '2', '3']) {
      const r = map({ id, email: 'a@x.com', updated: '2024-02-30' });
      expect(r).toMatchObject({ ok: true, record: { observedAt: READ_TIME, warnings: [{ field: 'updated', value: '2024-02-30', reason: 'observedAt invalid (not a calendar date); using read time' }] } });
    }
  });

  it('many distinct values (past the memo bound) are each read right', () => {
    const map = mapper({});
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 12_000; i++) {
      const iso = new Date(start + i * 60_000).toISOString();
      expect(observed(map({ id: String(i), email: 'a@x.com', updated: iso.replace('T', ' ').replace('.000Z', '') }))).toBe(iso);
    }
  });
});
