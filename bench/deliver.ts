import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot } from '../core/container.js';
import type { Logger } from '../core/plugin/types.js';
import type { DeliveryCounts } from '../core/store/types.js';
import { startBrevoServer, type BrevoServer } from '../connectors/brevo/__fixtures__/brevo-server.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- deliver [--profiles N] [--single N] [--poll-ms MS]`: profiles
 * from a store to the Brevo-contract server, which enforces 10 requests/s on
 * /v3/contacts* (429 past it) and 100/hour on /v3/processes.
 *
 * Two paths, each against its own ceiling:
 * - import (`--profiles`, default 100,000): POST /v3/contacts/import of up to 5,000
 *   contacts per request, each confirmed by polling its process. Ceiling: 10
 *   requests/s x contacts per request.
 * - single upserts (`--single`, default 300): one POST /v3/contacts per profile.
 *   Ceiling: 10 profiles/s.
 * Then a second delivery after a sync that changed nothing: it must send 0 requests.
 */

/** Keeps warnings (retries and their reasons) to print a sample with the figures. */
const warnings: string[] = [];
const quiet: Logger = { debug() {}, info() {}, warn: (m, f) => void warnings.push(`${m}${f?.reason ? `: ${String(f.reason)}` : ''}`), error: (m) => void warnings.push(m) };

function writeData(dir: string, n: number): string {
  const file = join(dir, 'people.csv');
  const lines = ['id,email,first,last,plan'];
  for (let i = 0; i < n; i++) lines.push(`${i},person${i}@bench-mail.net,First${i % 997},Last${i % 991},${i % 3 ? 'free' : 'pro'}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function runPath(label: string, n: number, brevo: Record<string, unknown>, dest: Record<string, unknown>, server: BrevoServer) {
  const dir = mkdtempSync(join(tmpdir(), `trib-bench-deliver-${process.pid}-`));
  try {
    const csv = writeData(dir, n);
    const file = join(dir, 'tributary.yaml');
    process.env.BENCH_BREVO_KEY = server.apiKey;
    writeFileSync(
      file,
      stringify({
        store: { sqlite: join(dir, 'store.db') },
        sources: [{ name: 'crm', connector: 'csv', batchSize: 10_000, streams: [{ name: 'people', mode: 'full_refresh', primaryKey: 'id', config: { path: csv }, mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first', lastName: 'last', plan: 'plan' } } }] }],
        resolution: { nameGuard: false },
        destinations: [{ name: 'brevo', connector: 'brevo', trigger: 'manual', config: { apiKey: '${BENCH_BREVO_KEY}', baseUrl: server.url, listIds: [1], ...brevo }, mapping: { FIRSTNAME: 'traits.firstName', LASTNAME: 'traits.lastName', PLAN: 'traits.plan' }, ...dest }],
      }),
    );
    const b = await boot({ configFile: file, logger: quiet });
    try {
      const sync = await timed(() => b.engine.runSync('crm', { deliverAfter: false }));
      if (!sync.result.ok) throw new Error(sync.result.error);
      const before = server.requests.length;
      const t0 = Date.now();
      const first = await timed(() => b.engine.deliverTo('brevo'));
      const sent = server.requests.slice(before);
      const late429 = sent.filter((r) => r.status === 429 && r.at - t0 > 1000).length;
      const all429 = sent.filter((r) => r.status === 429).length;
      const contactRequests = sent.filter((r) => r.path.startsWith('/v3/contacts')).length;
      const accepted = sent.filter((r) => r.path.startsWith('/v3/contacts') && r.status < 300).length;
      const rate = first.result.delivered / first.seconds;
      // What one accepted request carries on this path: 1 for single upserts, the import size for imports.
      const perRequest = first.result.delivered / Math.max(1, accepted);
      const ceiling = 10 * perRequest;
      process.stdout.write(
        `${label}: ${fmt(first.result.delivered)} profiles in ${fmt(first.seconds, 1)} s = ${fmt(rate, 1)} profiles/s; ` +
          `${fmt(contactRequests)} contact requests (${fmt(perRequest, 0)} profiles each) + ${sent.length - contactRequests} other; ` +
          `ceiling 10 requests/s x ${fmt(perRequest, 0)} = ${fmt(ceiling, 0)} profiles/s -> ${fmt((100 * rate) / ceiling, 1)}% of it; ` +
          `429s ${all429} (after the first second: ${late429}); retried ${first.result.retried}; waited for the budget ${fmt(first.result.throttledMs / 1000, 1)} s; ` +
          `(sync of the same ${fmt(n)} records first took ${fmt(sync.seconds, 1)} s)\n`,
      );
      const reasons = [...new Set(warnings.splice(0).map((w) => w.replace(/\d+/g, 'N')))].slice(0, 3);
      if (reasons.length) process.stdout.write(`  warnings (sample): ${reasons.join(' | ')}\n`);
      // Nothing changed: a full re-read of the source, then a delivery that must send nothing.
      await b.engine.runSync('crm', { deliverAfter: false });
      const mark = server.requests.length;
      const second: DeliveryCounts = await b.engine.deliverTo('brevo');
      process.stdout.write(`${label}, second run after a sync that changed nothing: ${server.requests.length - mark} requests, unchanged ${fmt(second.unchanged)}\n`);
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const profiles = arg(args, 'profiles', 100_000);
  const single = arg(args, 'single', 300);
  const pollMs = arg(args, 'poll-ms', 2000);
  const server = await startBrevoServer({ rateLimit: { perSecond: 10 }, importDelayMs: 500, attributes: ['PLAN'] });
  try {
    process.stdout.write(`deliver: Brevo-contract server enforcing 10 requests/s; import processes finish 500 ms after the request; poll every ${pollMs} ms\n`);
    await runPath('import path', profiles, { importThreshold: 100, importPollIntervalMs: pollMs }, { batchSize: 5000, concurrency: 8 }, server);
    await runPath('single upserts', single, { importThreshold: 1_000_000 }, { batchSize: 50 }, server);
    process.stdout.write(`peak RSS ${fmt(peakRssMb())} MB\n`);
  } finally {
    await server.close();
  }
}
