import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolutionSchema } from '../../core/config/schema.js';
import { rebuildResolution } from '../../core/resolution/rebuild.js';
import type { ResolverContext } from '../../core/resolution/types.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import { probabilisticSchema } from './config.js';
import type { MatchModel } from './model.js';
import { PEOPLE_SETTINGS, people } from './__fixtures__/people.js';
import { ProbabilisticResolver, RESOLVER_ID } from './resolver.js';
import { trainFromStore } from './train.js';

const settings = PEOPLE_SETTINGS;
const cfg = probabilisticSchema.parse(settings);
const rules = resolutionSchema.parse({ resolver: RESOLVER_ID, probabilistic: settings });
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function ctx(): ResolverContext {
  let n = 0;
  return { logger: quiet, rules, now: () => new Date('2026-12-01T10:00:00Z'), newProfileId: () => `prof_${String(++n).padStart(6, '0')}` };
}

/** Each record has its own email: only the probabilistic stage can join a person's records. */
function records(list: ReturnType<typeof people>, stream: string): CanonicalRecord[] {
  return list.map((r) => ({
    kind: 'identify',
    source: 'crm',
    stream,
    recordId: r.key,
    observedAt: '2026-11-01T00:00:00.000Z',
    identifiers: [{ type: 'email', value: `${r.key}.${stream}@example.org` }],
    traits: r.traits,
  }));
}

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

/** A store file holding 200 people's records, synced before any model existed (one profile per record), and a trained model saved in it. */
async function storeBeforeModel(): Promise<SqliteStore> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-prob-rebuild-'));
  dirs.push(dir);
  const store = new SqliteStore(join(dir, 'store.db'));
  const resolver = new ProbabilisticResolver();
  const c = ctx();
  const all = records(people(200), 'people');
  await store.commitBatch({ sync: 'crm', records: all, resolution: await resolver.resolve(c, all, store), deadLetters: [], checkpoints: [], destinations: [] });
  const trained = await trainFromStore(store, cfg, { save: true });
  expect(trained.saved).toBe(1);
  return store;
}

async function modelOf(store: SqliteStore): Promise<MatchModel> {
  return JSON.parse((await store.latestMatchModel(RESOLVER_ID))!.body) as MatchModel;
}

async function rebuild(store: SqliteStore, dryRun: boolean, model?: MatchModel) {
  const resolver = new ProbabilisticResolver();
  resolver.useModel(model ?? (await modelOf(store)));
  return rebuildResolution({ store, resolver, rules, logger: quiet, dryRun, destinations: [], now: () => new Date('2026-12-02T10:00:00Z') });
}

describe('resolve --rebuild with the probabilistic resolver (SQLite store file)', () => {
  it('a dry run lists the merges the new model would make, marked probabilistic, and changes nothing', async () => {
    const store = await storeBeforeModel();
    const before = new Map((await store.dumpResolution()).recordProfiles);
    const report = await rebuild(store, true);
    expect(report.applied).toBe(false);
    expect(report.merges.length).toBeGreaterThan(100);
    expect(report.merges.every((m) => m.probabilistic.length === m.absorb.length)).toBe(true);
    expect(new Map((await store.dumpResolution()).recordProfiles)).toEqual(before);
    expect(store.counts().merges).toBe(0);
    await store.close();
  });

  it('applied, it keeps the link evidence of its merges and marks them probabilistic in the merge history; a second rebuild replaces the links, never adds to them', async () => {
    const store = await storeBeforeModel();
    const report = await rebuild(store, false);
    expect(report.applied).toBe(true);
    const { keep, absorb } = report.merges[0];
    const links = await store.probabilisticLinksOfProfile(keep);
    expect(links.length).toBeGreaterThan(0);
    expect(links[0].evidence.map((e) => e.comparison)).toEqual(['prior', 'firstName', 'lastName', 'dob', 'zip']);
    expect(links[0].modelVersion).toBe(1);
    const explained = await store.explain(keep);
    const history = explained.merges.filter((m) => absorb.includes(m.absorbed));
    expect(history.length).toBe(absorb.length);
    expect(history.every((m) => m.rule === 'probabilistic' && m.identifierKey.startsWith('probabilistic\u0000crm/people/'))).toBe(true);
    // Every stored link joins two records of one profile now: none left over from an older partition.
    const profileOf = new Map((await store.dumpResolution()).recordProfiles);
    const total = store.allProbabilisticLinks();
    expect(total.length).toBeGreaterThan(0);
    for (const l of total) expect(profileOf.get(l.recordKey)).toBe(profileOf.get(l.otherRecordKey));
    await rebuild(store, false);
    expect(store.allProbabilisticLinks().length).toBe(total.length);
    await store.close();
  });

  it('a dry run with another model lists the profiles it would split, and changes nothing', async () => {
    const store = await storeBeforeModel();
    await rebuild(store, false);
    const merged = new Map((await store.dumpResolution()).recordProfiles);
    // A model under which hardly any pair is a match (prior 1e-30): the profiles the first one joined fall apart.
    const sceptic = { ...(await modelOf(store)), version: 2, prior: 1e-30 };
    const report = await rebuild(store, true, sceptic);
    expect(report.merges).toEqual([]);
    expect(report.splits.length).toBeGreaterThan(100);
    expect(report.profilesAfter).toBeGreaterThan(report.profilesBefore);
    expect(new Map((await store.dumpResolution()).recordProfiles)).toEqual(merged);
    await store.close();
  });
});
