import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { testPlugin } from '../../test/kit/inline-source.js';

const opened: Booted[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

// Two people sharing a household phone, plus a third record of Ann with only the phone.
const rows = [
  { id: '1', email: 'ann@x.com', phone: '+33145678901', updated_at: '2026-01-01' },
  { id: '2', email: 'marc@x.com', phone: '+33145678901', updated_at: '2026-01-02' },
  { id: '3', email: 'ann@x.com', phone: '', updated_at: '2026-01-03' },
];

function config(dir: string, resolution: Record<string, unknown>) {
  const file = join(dir, 'tributary.yaml');
  writeFileSync(
    file,
    stringify({
      store: { sqlite: join(dir, 'store.db') },
      sources: [
        {
          name: 'crm',
          connector: 'inline',
          config: { streams: { customers: rows } },
          streams: [{ name: 'customers', primaryKey: 'id', cursor: 'updated_at', mapping: { identifiers: { email: 'email', phone: 'phone' }, observedAt: 'updated_at' } }],
        },
      ],
      resolution,
      destinations: [{ name: 'hook', connector: 'memory', trigger: 'manual' }],
    }),
  );
  return file;
}

async function start(file: string) {
  const b = await boot({ configFile: file, logger: captureLogger(), plugins: [testPlugin().plugin] });
  opened.push(b);
  return b;
}

const profileOf = async (b: Booted, id: string) => (await b.store.existingRecords([`crm/customers/${id}`])).get(`crm/customers/${id}`)!.profileId;

describe('resolve --rebuild', () => {
  it('a dry run reports the split a stricter rule would make and changes nothing; applying it keeps the id on the oldest part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-rebuild-'));
    const loose = await start(config(dir, { limits: { email: 3 } }));
    await loose.engine.runSync('crm');
    const merged = await profileOf(loose, '1');
    expect(await profileOf(loose, '2')).toBe(merged);
    await loose.close();
    opened.pop();

    const strict = await start(config(dir, { limits: { email: 1 } }));
    const dry = await strict.engine.rebuild(true);
    expect(dry.applied).toBe(false);
    expect(dry.splits).toEqual([{ profile: merged, parts: 2, newIds: expect.any(Array) }]);
    expect(await profileOf(strict, '2')).toBe(merged);

    const done = await strict.engine.rebuild(false);
    expect(done.applied).toBe(true);
    expect(await profileOf(strict, '1')).toBe(merged);
    expect(await profileOf(strict, '3')).toBe(merged);
    const marc = await profileOf(strict, '2');
    expect(marc).not.toBe(merged);
    expect((await strict.store.profileDocument(marc))!.identifiers).toEqual([{ type: 'email', value: 'marc@x.com' }]);
    // Destinations are told about both parts.
    const outbox = (await strict.store.pendingOutbox('hook', 10)).map((e) => e.profileId).sort();
    expect(outbox).toEqual([merged, marc].sort());
  });

  it('a looser rule merges profiles; the oldest id is kept and the other still resolves as an alias', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-rebuild-'));
    const strict = await start(config(dir, { limits: { email: 1 } }));
    await strict.engine.runSync('crm');
    const ann = await profileOf(strict, '1');
    const marc = await profileOf(strict, '2');
    expect(ann).not.toBe(marc);
    await strict.close();
    opened.pop();

    const loose = await start(config(dir, { limits: { email: 3 } }));
    const report = await loose.engine.rebuild(false);
    expect(report.merges).toEqual([{ keep: ann, absorb: [marc], probabilistic: [] }]);
    expect(await loose.store.resolveProfileId(marc)).toBe(ann);
    const ex = await loose.store.explain(ann);
    expect(ex.merges).toEqual([expect.objectContaining({ survivor: ann, absorbed: marc, rule: 'rebuild' })]);
  });
});
