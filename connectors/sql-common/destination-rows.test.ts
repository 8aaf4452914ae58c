import { describe, expect, it } from 'vitest';
import type { DestinationItem, ProfileDocument } from '../../core/plugin/types.js';
import { classifyMysqlError } from '../mysql/destination.js';
import { classifyPostgresError } from '../postgres/destination.js';
import type { SqlDestinationConfig } from './destination-config.js';
import { planBatch } from './destination-rows.js';

const config = (over: Partial<SqlDestinationConfig> = {}): SqlDestinationConfig => ({
  host: 'h', port: 1, user: 'u', password: '', database: 'd', table: 't', createTable: false,
  keyColumn: 'id', jsonColumn: 'profile', mirror: false, lockTimeoutMs: 1000, ...over,
});
const profile = (id: string, traits: Record<string, unknown> = {}): ProfileDocument => ({
  id, identifiers: [{ type: 'email', value: `${id}@example.com` }], traits, records: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z',
});
const up = (id: string, payload?: Record<string, unknown>, traits?: Record<string, unknown>): DestinationItem => ({ key: id, op: 'upsert', profile: profile(id, traits), ...(payload ? { payload } : {}) });
const del = (id: string): DestinationItem => ({ key: id, op: 'delete', previous: { ref: id }, reason: 'deleted' });

describe('planBatch', () => {
  it('without a mapping: key, standard columns from identifiers or traits, the document as JSON', () => {
    const plan = planBatch(config(), [up('a', undefined, { phone: '+33612345678' })]);
    expect(plan.columns.map((c) => [c.name, c.kind, c.standard ?? false])).toEqual([
      ['id', 'key', false], ['email', 'text', true], ['phone', 'text', true], ['updated_at', 'timestamp', true], ['profile', 'json', false],
    ]);
    expect(plan.upserts[0].values).toEqual({ id: 'a', email: 'a@example.com', phone: '+33612345678', updated_at: '2026-01-02T00:00:00.000Z', profile: profile('a', { phone: '+33612345678' }) });
  });

  it('with a mapping: the mapped columns typed by their first non-null value, no JSON column when disabled', () => {
    const plan = planBatch(config({ jsonColumn: false }), [up('a', { city: null, score: null }), up('b', { city: 'Lyon', score: 2, vip: true, tags: ['x'] })]);
    expect(plan.columns.map((c) => [c.name, c.kind])).toEqual([['id', 'key'], ['city', 'text'], ['score', 'number'], ['vip', 'boolean'], ['tags', 'json']]);
    expect(plan.upserts.map((u) => u.values)).toEqual([{ id: 'a', city: null, score: null }, { id: 'b', city: 'Lyon', score: 2, vip: true, tags: ['x'] }]);
  });

  it('folds items for the same row: the last one decides, every item of the group shares its result', () => {
    const plan = planBatch(config({ mirror: true }), [up('a', { n: 1 }), up('b', { n: 1 }), up('a', { n: 2 }), del('b'), del('c')]);
    expect(plan.upserts.map((u) => [u.key, u.values.n, u.items])).toEqual([['a', 2, [0, 2]]]);
    expect(plan.deletes).toEqual([{ ref: 'b', items: [1, 3] }, { ref: 'c', items: [4] }]);
  });

  it('deletes without mirror or deletedAtColumn are settled ok without SQL; with deletedAtColumn they are planned', () => {
    expect(planBatch(config(), [del('a')]).decided.get(0)).toEqual({ status: 'ok' });
    expect(planBatch(config({ deletedAtColumn: 'gone_at' }), [del('a')]).deletes).toEqual([{ ref: 'a', items: [0] }]);
  });

  it('an upsert without a profile and a track item are permanent; a mapping writing the key column is fatal', () => {
    const plan = planBatch(config(), [{ key: 'x', op: 'upsert' }, { key: 'crm/s/1', op: 'track' }]);
    expect(plan.decided.get(0)).toMatchObject({ status: 'permanent', reason: 'upsert of x carries no profile' });
    expect(plan.decided.get(1)).toMatchObject({ status: 'permanent' });
    expect(planBatch(config(), [up('a', { id: 'other' })]).fatal).toMatch(/column "id", which is the table's key column/);
  });
});

describe('error classification', () => {
  it('postgres: values are data, credentials and missing objects fatal, the rest retryable', () => {
    const pg = (code?: string) => classifyPostgresError(Object.assign(new Error('x'), code ? { code } : {}));
    expect(['22001', '22P02', '23502', '23505', 'P0001'].map(pg)).toEqual(['data', 'data', 'data', 'data', 'data']);
    expect(['28000', '28P01', '3D000', '42P01', '42703', '42501', '25006'].map(pg)).toEqual(Array(7).fill('fatal'));
    expect(['40001', '40P01', '55P03', '57P01', '08006', '53300', undefined, 'ECONNRESET'].map(pg)).toEqual(Array(8).fill('retryable'));
  });

  it('mysql: by error number first, then SQLSTATE class', () => {
    const my = (errno: number, sqlState = 'HY000') => classifyMysqlError(Object.assign(new Error('x'), { errno, sqlState }));
    expect([my(1406, '22001'), my(1366), my(1048, '23000'), my(4025, '23000'), my(9999, '22003')]).toEqual(Array(5).fill('data'));
    expect([my(1045, '28000'), my(1146, '42S02'), my(1054, '42S22'), my(1142, '42000')]).toEqual(Array(4).fill('fatal'));
    expect([my(1205), my(1213, '40001'), classifyMysqlError(Object.assign(new Error('gone'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))]).toEqual(Array(3).fill('retryable'));
  });
});
