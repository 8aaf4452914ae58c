import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { boot, type Booted } from '../../core/container.js';
import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION, type DestinationConnector } from '../../core/plugin/types.js';
import { captureLogger } from './context.js';
import { inlineSource } from './inline-source.js';

export interface DeliveryKitOptions<C> {
  connector: DestinationConnector<C>;
  /** A fresh, empty destination for each check; returns the connector config. */
  setup(): Promise<C>;
  teardown?(): Promise<void>;
  /** How many records the destination holds now (contacts, rows, documents, accepted profiles). */
  held(config: C): Promise<number>;
  /**
   * Requests the destination has answered so far (the vendor-side count), to prove
   * nothing was sent. Without it (a database), the engine's own count of write calls is used.
   */
  requests?(config: C): Promise<number>;
  /** Extra YAML for the destination (mapping, mode options): the kit adds where/onUnmatch itself. */
  destination?: Record<string, unknown>;
}

type Row = Record<string, unknown>;

function person(id: string, email: string, phone: string, first: string, country: string, at: string): Row {
  return { id, email, phone, first, country, updated_at: at };
}

/** A clock whose sleeps pass at once and add up, so budgets can be checked without waiting. */
function virtualClock() {
  let t = Date.parse('2026-06-01T00:00:00Z');
  return { now: () => new Date(t), sleep: async (ms: number) => void (t += Math.max(0, ms)), elapsed: () => t - Date.parse('2026-06-01T00:00:00Z') };
}

/**
 * What every incremental destination must do through the delivery engine,
 * against its real peer: send only what changed, keep to its rate budget,
 * follow merges, and delete a profile that stops matching `where:`.
 */
export function destinationDeliveryKit<C>(opts: DeliveryKitOptions<C>): void {
  const connector = { ...opts.connector, id: `kit-${opts.connector.id}` } as DestinationConnector<C>;
  describe(`destination delivery kit: ${opts.connector.id}`, () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), `trib-delivery-kit-${process.pid}-`));
    });
    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await opts.teardown?.();
    });

    async function start(name: string, rows: Row[], config: C, dest: Record<string, unknown> = {}) {
      const file = join(dir, `${name}.yaml`);
      const cfg = {
        store: { sqlite: join(dir, `${name}.db`) },
        sources: [
          {
            name: 'crm',
            connector: 'inline',
            config: { streams: { customers: rows }, checkpointEvery: 50 },
            streams: [
              {
                name: 'customers',
                mode: 'full_refresh',
                primaryKey: 'id',
                mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first', country: 'country' }, observedAt: 'updated_at' },
              },
            ],
          },
        ],
        resolution: { nameGuard: false },
        destinations: [{ name: 'kit', connector: connector.id, trigger: 'manual', config, retry: { attempts: 2, initialDelayMs: 1 }, ...opts.destination, ...dest }],
      };
      writeFileSync(file, stringify(cfg));
      const clock = virtualClock();
      const b: Booted = await boot({
        configFile: file,
        logger: captureLogger(),
        clock,
        plugins: [definePlugin({ name: 'delivery-kit', version: '0.0.0', apiVersion: PLUGIN_API_VERSION, sources: [inlineSource], destinations: [connector] })],
      });
      return { ...b, clock, file };
    }

    async function run(b: Awaited<ReturnType<typeof start>>) {
      const out = await b.engine.runSync('crm', { deliverAfter: false });
      expect(out.ok, out.error).toBe(true);
      return b.engine.deliverTo('kit');
    }

    function rewrite(file: string, rows: Row[]) {
      const cfg = parse(readFileSync(file, 'utf8'));
      cfg.sources[0].config.streams.customers = rows;
      writeFileSync(file, stringify(cfg));
    }

    const base = (n: number) => Array.from({ length: n }, (_, i) => person(`c${i}`, `kit${i}@kit-mail.net`, '', `Kim${i}`, 'FR', `2026-01-0${1 + (i % 8)}T00:00:00Z`));

    it('sends only what changed: a sync that changed nothing sends no request; one change sends one profile', async () => {
      const config = await opts.setup();
      const rows = base(4);
      const b = await start('changed', rows, config);
      try {
        expect((await run(b)).delivered).toBe(4);
        expect(await opts.held(config)).toBe(4);
        const before = await opts.requests?.(config);
        expect(await run(b)).toMatchObject({ delivered: 0, unchanged: 4, requests: 0 });
        if (opts.requests) expect(await opts.requests(config)).toBe(before);
      } finally {
        await b.close();
      }
      rows[1] = { ...rows[1], first: 'Changed' };
      const b2 = await start('changed', rows, config);
      try {
        expect(await run(b2)).toMatchObject({ delivered: 1, unchanged: 3 });
      } finally {
        await b2.close();
      }
    });

    it('keeps to its rate budget: every request waits for the budget', async () => {
      const config = await opts.setup();
      const b = await start('budget', base(6), config, { batchSize: 1, rateLimit: { perSecond: 2 } });
      try {
        const before = (await opts.requests?.(config)) ?? 0;
        const counts = await run(b);
        const sent = opts.requests ? (await opts.requests(config)) - before : counts.requests;
        expect(sent).toBeGreaterThanOrEqual(6);
        // At 2 a second, `sent` requests need at least (sent - 2) / 2 seconds of (virtual) waiting.
        expect(b.clock.elapsed()).toBeGreaterThanOrEqual(((sent - 2) / 2) * 1000);
      } finally {
        await b.close();
      }
    });

    it('follows a merge: two profiles there become one', async () => {
      const config = await opts.setup();
      const rows = [person('m1', 'ann@kit-mail.net', '+14155552671', 'Ann', 'FR', '2026-01-01T00:00:00Z'), person('m2', 'annie@kit-work.net', '', 'Ann', 'FR', '2026-01-02T00:00:00Z')];
      const b = await start('merge', rows, config);
      try {
        await run(b);
        expect(await opts.held(config)).toBe(2);
      } finally {
        await b.close();
      }
      rows.push(person('m3', 'annie@kit-work.net', '+14155552671', 'Ann', 'FR', '2026-01-03T00:00:00Z'));
      const b2 = await start('merge', rows, config);
      try {
        const c = await run(b2);
        expect(await b2.store.countProfiles()).toBe(1);
        expect(c.failed).toBe(0);
        expect(await opts.held(config)).toBe(1);
      } finally {
        await b2.close();
      }
    });

    it('deletes a profile that stops matching where:', async () => {
      const config = await opts.setup();
      const rows = base(3);
      const b = await start('unmatch', rows, config, { where: 'traits.country = "FR"' });
      try {
        await run(b);
        expect(await opts.held(config)).toBe(3);
      } finally {
        await b.close();
      }
      rows[0] = { ...rows[0], country: 'DE' };
      const b2 = await start('unmatch', rows, config, { where: 'traits.country = "FR"' });
      try {
        expect(await run(b2)).toMatchObject({ deleted: 1, filtered: 1 });
        expect(await opts.held(config)).toBe(2);
      } finally {
        await b2.close();
      }
    });
  });
}
