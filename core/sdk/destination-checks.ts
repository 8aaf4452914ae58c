import type { DestinationConnector, DestinationItem, ProfileDocument, RateGate, WriteResult } from '../plugin/types.js';
import { NotExercised, assertThat, fail, show, type NamedCheck } from './check-run.js';
import { kitContext, recordingGate, refusalProblem } from './context.js';
import type { DestinationFixture } from './fixture.js';

const KEBAB_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Profiles shaped like the ones the engine hands to destinations. */
export function kitProfiles(n: number, prefix = 'p'): ProfileDocument[] {
  const out: ProfileDocument[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: `${prefix}${i}`,
      identifiers: [{ type: 'email', value: `user${i}@example.com` }],
      traits: { firstName: `First${i}`, lastName: `Last${i}`, email: `user${i}@example.com` },
      records: [{ source: 'crm', stream: 'customers', recordId: String(i) }],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    });
  }
  return out;
}

/** One delivery as the engine makes it: begin, write, commit (abort when write throws). */
export async function deliverBatch<C>(
  d: DestinationConnector<C>,
  config: C,
  items: DestinationItem[],
  opts: { signal?: AbortSignal; baseDir?: string; rate?: RateGate } = {},
): Promise<WriteResult[]> {
  const ctx = kitContext(config, opts);
  await d.begin?.(ctx);
  try {
    const results = await d.write(ctx, items);
    await d.commit?.(ctx);
    return results;
  } catch (err) {
    await d.abort?.(ctx);
    throw err;
  }
}

const upserts = (profiles: ProfileDocument[]): DestinationItem[] => profiles.map((p) => ({ key: p.id, op: 'upsert', profile: p }));

function allOk(results: WriteResult[], items: DestinationItem[], what: string): void {
  assertThat(Array.isArray(results) && results.length === items.length, `${what}: write returned ${Array.isArray(results) ? results.length : 'no'} results for ${items.length} items`);
  const bad = results.findIndex((r) => r.status !== 'ok');
  if (bad >= 0) fail(`${what}: item ${items[bad].key} came back ${show(results[bad])}`);
}

/** The checks every destination must pass, against the fixture's target. */
export function destinationChecks(connector: DestinationConnector, fx: DestinationFixture, baseDir: string): NamedCheck[] {
  let config: unknown;
  const parsed = (raw: unknown = fx.config, what = 'config'): unknown => {
    const r = connector.spec.config.safeParse(raw);
    if (!r.success) fail(`the fixture's ${what} is refused by the connector's schema: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return r.data;
  };
  const cfg = () => (config ??= parsed());
  const deliver = (items: DestinationItem[], signal: AbortSignal, c = cfg(), rate?: RateGate) => deliverBatch(connector, c, items, { signal, baseDir, rate });
  const canDelete = !!connector.capabilities?.delete;

  return [
    {
      check: 'spec',
      async run() {
        assertThat(KEBAB_ID.test(connector.id), `id "${connector.id}" is not kebab-case (lower-case letters, digits, single dashes)`);
        assertThat(connector.delivery === 'incremental' || connector.delivery === 'snapshot', `delivery is ${show(connector.delivery)}, not incremental or snapshot`);
        cfg();
      },
    },
    {
      check: 'check',
      async run(signal) {
        const res = await connector.check(kitContext(cfg(), { signal, baseDir }));
        assertThat(res.ok, `check reported the fixture's destination as not ok: ${res.message ?? '(no message)'}`);
      },
    },
    {
      check: 'bad config',
      async run(signal) {
        if (!fx.badConfigs.length) throw new NotExercised('the fixture lists no badConfigs');
        for (const bad of fx.badConfigs) {
          const problem = await refusalProblem(connector as never, { config: bad.config, message: new RegExp(bad.message) }, { signal, baseDir });
          if (problem) fail(`bad config "${bad.name}": ${problem}`);
        }
      },
    },
    {
      check: 'write',
      async run(signal) {
        const items = upserts(kitProfiles(5));
        allOk(await deliver(items, signal), items, 'writing 5 profiles');
      },
    },
    {
      check: 'idempotent re-write',
      async run(signal) {
        const items = upserts(kitProfiles(5));
        allOk(await deliver(items, signal), items, 'writing 5 profiles a second time');
        allOk(await deliver(items, signal), items, 'writing 5 profiles a third time');
      },
    },
    {
      check: 'retryable vs permanent errors',
      async run(signal) {
        if (!fx.retryable && !fx.permanentItem) throw new NotExercised('the fixture gives neither `retryable:` nor `permanentItem:`');
        if (fx.retryable) {
          const items = upserts(kitProfiles(2, 'r'));
          let results: WriteResult[];
          try {
            results = await deliver(items, signal, parsed(fx.retryable.config, 'retryable.config'));
          } catch (err) {
            if ((err as { retryable?: boolean }).retryable === false) fail(`a transient failure threw a non-retryable error: ${(err as Error).message}`);
            results = items.map(() => ({ status: 'retryable', reason: (err as Error).message }));
          }
          const wrong = results.findIndex((r) => r.status !== 'retryable');
          if (wrong >= 0) fail(`under the fixture's transient failure, item ${items[wrong].key} came back ${show(results[wrong])}, expected retryable`);
        }
        if (fx.permanentItem) {
          const item = fx.permanentItem as unknown as DestinationItem;
          const [r] = await deliver([item], signal);
          assertThat(r?.status === 'permanent', `the fixture's permanentItem came back ${show(r)}, expected permanent`);
          assertThat(r.status === 'permanent' && r.reason.length > 0, 'a permanent error has no reason');
        }
      },
    },
    {
      check: 'rate-limit response honoured',
      async run(signal) {
        if (!fx.rateLimited) throw new NotExercised('the fixture gives no `rateLimited:` config (a target that answers 429)');
        const gate = recordingGate();
        const items = upserts(kitProfiles(1, 'l'));
        let results: WriteResult[];
        try {
          results = await deliver(items, signal, parsed(fx.rateLimited.config, 'rateLimited.config'), gate);
        } catch (err) {
          fail(`a 429 made write throw (${(err as Error).message}); answer retryable with retryAfterMs instead`);
        }
        const r = results[0];
        assertThat(r?.status === 'retryable', `a 429 came back ${show(r)}, expected retryable`);
        const waits = (r.status === 'retryable' && (r.retryAfterMs ?? 0) > 0) || gate.pauses.some((ms) => ms > 0);
        assertThat(waits, 'a 429 came back retryable but with no retryAfterMs and no ctx.rate.pause(): the engine cannot honour the reset time');
        assertThat(gate.takes > 0, 'write never called ctx.rate.take() before its request');
      },
    },
    {
      check: 'delete',
      async run(signal) {
        if (!canDelete) throw new NotExercised('capabilities.delete is not set');
        const profiles = kitProfiles(2, 'd');
        allOk(await deliver(upserts(profiles), signal), upserts(profiles), 'writing 2 profiles to delete');
        const dels: DestinationItem[] = profiles.map((p) => ({ key: p.id, op: 'delete', reason: 'deleted', previous: { ref: connector.ref?.({ key: p.id, op: 'upsert', profile: p }, cfg()) ?? p.id } }));
        allOk(await deliver(dels, signal), dels, 'deleting them');
        allOk(await deliver(dels, signal), dels, 'deleting them again (already gone must still be ok)');
      },
    },
    {
      check: 'merge followed',
      async run(signal) {
        const [survivor, absorbed] = kitProfiles(2, 'm');
        allOk(await deliver(upserts([survivor, absorbed]), signal), upserts([survivor, absorbed]), 'writing the two profiles before the merge');
        const merged: DestinationItem[] = [{ key: survivor.id, op: 'upsert', profile: { ...survivor, aliases: [absorbed.id] }, mergedFrom: [absorbed.id] }];
        if (canDelete) {
          const ref = connector.ref?.({ key: absorbed.id, op: 'upsert', profile: absorbed }, cfg()) ?? absorbed.id;
          merged.push({ key: absorbed.id, op: 'delete', reason: 'merged', survivor: survivor.id, previous: { ref } });
        }
        allOk(await deliver(merged, signal), merged, 'following the merge');
      },
    },
  ];
}
