import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { DestinationConnector, DestinationItem, ProfileDocument } from '../../core/plugin/types.js';
import { deliverBatch, kitProfiles } from '../../core/sdk/destination-checks.js';
import { expectRefused, testContext } from './context.js';

export interface DestinationKitOptions<C> {
  connector: DestinationConnector<C>;
  setup(): Promise<C>;
  teardown?(): Promise<void>;
  /** Read back what the destination holds now, keyed by profile id. */
  readBack(config: C): Promise<Map<string, unknown>>;
  /** Make the next write fail in a way the connector must call retryable (e.g. 429/503). */
  failRetryable?(config: C): Promise<void>;
  /** An item the destination must reject permanently (e.g. an invalid email for an email tool). */
  permanentItem?: DestinationItem;
  badConfigs: Array<{ name: string; config: unknown; message: RegExp }>;
}

/** Profiles shaped like the engine's (shared with `tributary test connector`, core/sdk/destination-checks.ts). */
export function sampleProfiles(n: number, prefix = 'p'): ProfileDocument[] {
  return kitProfiles(n, prefix);
}

function deliver<C>(d: DestinationConnector<C>, config: C, items: DestinationItem[]) {
  return deliverBatch(d, config, items);
}

/** What every destination connector must pass. */
export function destinationConnectorKit<C>(opts: DestinationKitOptions<C>): void {
  const { connector } = opts;
  describe(`destination connector kit: ${connector.id}`, () => {
    let config: C;
    beforeAll(async () => {
      config = connector.spec.config.parse(await opts.setup());
    });
    afterAll(async () => {
      await opts.teardown?.();
    });

    it('check reports a usable destination as ok', async () => {
      const res = await connector.check(testContext(config));
      expect(res.ok).toBe(true);
    });

    it('write delivers every item and reports ok for each', async () => {
      const items = sampleProfiles(5).map((p) => ({ key: p.id, op: 'upsert' as const, profile: p }));
      const results = await deliver(connector, config, items);
      expect(results).toHaveLength(5);
      expect(results.every((r) => r.status === 'ok')).toBe(true);
      const held = await opts.readBack(config);
      expect([...held.keys()].sort()).toEqual(items.map((i) => i.key).sort());
    });

    it('re-writing the same items is idempotent', async () => {
      const items = sampleProfiles(5).map((p) => ({ key: p.id, op: 'upsert' as const, profile: p }));
      await deliver(connector, config, items);
      await deliver(connector, config, items);
      const held = await opts.readBack(config);
      expect(held.size).toBe(5);
    });

    if (opts.failRetryable) {
      it('reports a transient failure as retryable', async () => {
        await opts.failRetryable!(config);
        const items = sampleProfiles(1, 'r').map((p) => ({ key: p.id, op: 'upsert' as const, profile: p }));
        const results = await deliver(connector, config, items);
        expect(results[0].status).toBe('retryable');
      });
    }

    if (opts.permanentItem) {
      it('reports a bad item as a permanent error with a reason', async () => {
        const results = await deliver(connector, config, [opts.permanentItem!]);
        expect(results[0].status).toBe('permanent');
        expect((results[0] as { reason: string }).reason.length).toBeGreaterThan(0);
      });
    }

    for (const bad of opts.badConfigs) {
      it(`refuses bad config (${bad.name}) with a clear message`, async () => {
        await expectRefused(connector, bad);
      });
    }
  });
}
