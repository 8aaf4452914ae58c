import { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { testConnectorContext } from '../../engine/connector-context.js';
import { identifierKey, parseIdentifierKey } from '../../schema/canonical.js';
import { consentLines } from '../../privacy/consent-explain.js';
import type { ProfileStore } from '../../store/types.js';
import { findProfile, globals, reportError, withEngine } from '../shared.js';
import { exportSubject, writeSubjectFile } from '../../privacy/export-subject.js';
import { formatProbabilisticLinks, probabilisticLinksFor } from '../../../plugins/resolver-probabilistic/explain.js';

const showKey = (k: string) => {
  const id = parseIdentifierKey(k);
  return `${id.type}${id.namespace ? `.${id.namespace}` : ''}=${id.value}`;
};

/**
 * Identifier keys a `prefix:value` query may mean: `crm:CRM-1` is the external id
 * CRM-1 of namespace crm, `external_id:R5` one without a namespace,
 * `external_id.crm:CRM-1` the YAML spelling, and `anonymous_id:abc` (or any
 * other type) an identifier of that type.
 */
export function typedIdentifierKeys(query: string): string[] {
  const colon = query.indexOf(':');
  if (colon <= 0) return [];
  const prefix = query.slice(0, colon).trim();
  const value = query.slice(colon + 1).trim();
  if (!value) return [];
  const keys = [identifierKey({ type: 'external_id', namespace: prefix, value }), identifierKey({ type: prefix, value })];
  const dot = prefix.indexOf('.');
  if (dot > 0) keys.push(identifierKey({ type: prefix.slice(0, dot), namespace: prefix.slice(dot + 1), value }));
  return keys;
}

/** Like findProfile (id, alias, email, phone), and then by `namespace:value` or `type:value`. */
async function findProfileAnyway(store: ProfileStore, query: string, defaultRegion: string): Promise<string | undefined> {
  const found = await findProfile(store, query, defaultRegion);
  if (found) return found;
  const keys = typedIdentifierKeys(query);
  const owners = await store.lookupIdentifiers(keys);
  for (const k of keys) {
    const id = owners.get(k);
    if (id) return (await store.resolveProfileId(id)) ?? id;
  }
  return undefined;
}

export function profilesCommand(): Command {
  const cmd = new Command('profiles').description('Look at unified profiles');

  cmd
    .command('get')
    .description('Print one profile, found by id (or a merged-away id), email, phone or external id (crm:CRM-1, external_id:X)')
    .argument('<query>', 'profile id, alias, email, phone, namespace:value or type:value')
    .action(async (query: string, _o: unknown, sub: Command) => {
      try {
        await withEngine(sub, async ({ store, loaded }) => {
          const id = await findProfileAnyway(store, query, loaded.config.normalize.defaultRegion);
          const doc = id ? await store.profileDocument(id) : undefined;
          if (!doc) {
            process.stderr.write(`no profile matches "${query}"\n`);
            process.exitCode = 1;
            return;
          }
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });

  cmd
    .command('export-subject')
    .description('Write everything held about one person (profile, records, consent, deliveries, dead letters) as one JSON file')
    .argument('<query>', 'email, phone, profile id, namespace:value or type:value')
    .requiredOption('--out <file>', 'the JSON file to write (created readable by you only)')
    .action(async (query: string, opts: { out: string }, sub: Command) => {
      try {
        await withEngine(sub, async ({ store, loaded }) => {
          const id = await findProfileAnyway(store, query, loaded.config.normalize.defaultRegion);
          const doc = id ? await exportSubject(store, id) : undefined;
          if (!doc) {
            process.stderr.write(`no profile matches "${query}": nothing held\n`);
            process.exitCode = 1;
            return;
          }
          writeSubjectFile(opts.out, doc);
          process.stdout.write(`${opts.out}: profile ${id}, ${doc.records.length} record(s), ${doc.destinations.length} destination(s), ${doc.deadLetters.length} dead letter(s)\n`);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });

  cmd
    .command('export')
    .description('Export every profile, one per line: id, identifiers, traits, computed, records')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to this file atomically instead of stdout (its folder must exist)')
    .action(async (opts: { format: string; out?: string }, sub: Command) => {
      try {
        if (opts.format !== 'jsonl' && opts.format !== 'csv') throw new ConfigError(`--format: expected jsonl or csv, got "${opts.format}"`);
        await withEngine(sub, async ({ store, registry, logger }) => {
          if (!opts.out) {
            if (opts.format === 'csv') throw new ConfigError('--format csv needs --out FILE');
            for await (const page of store.iterateProfiles(1000)) {
              for (const p of page) process.stdout.write(`${JSON.stringify(p)}\n`);
            }
            return;
          }
          // The file destination already writes JSONL/CSV atomically: reuse it rather than a second writer.
          await registry.need('destination', 'file');
          const file = registry.destination('file');
          // --out is relative to the working directory (no baseDir), and a missing folder is a typo to report, not to create.
          const ctx = testConnectorContext('export', file.spec.config.parse({ path: opts.out, format: opts.format, createDirectories: false }), logger);
          await file.begin?.(ctx);
          let n = 0;
          try {
            for await (const page of store.iterateProfiles(1000)) {
              const results = await file.write(ctx, page.map((p) => ({ key: p.id, op: 'upsert' as const, profile: p })));
              const bad = results.find((r) => r.status !== 'ok');
              if (bad) throw new Error(`cannot write ${opts.out}: ${(bad as { reason: string }).reason}`);
              n += page.length;
            }
            await file.commit?.(ctx);
          } catch (err) {
            await file.abort?.(ctx);
            throw err;
          }
          process.stderr.write(`wrote ${n} profiles to ${opts.out}\n`);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });

  cmd
    .command('explain')
    .description('Show why a profile is what it is: its records, each link and the rule that made it, merges, refused merges, consent per purpose')
    .argument('<query>', 'profile id, alias, email, phone, namespace:value or type:value')
    .option('--json', 'print JSON')
    .action(async (query: string, opts: { json?: boolean }, sub: Command) => {
      try {
        await withEngine(sub, async ({ store, loaded }) => {
          const id = await findProfileAnyway(store, query, loaded.config.normalize.defaultRegion);
          if (!id) {
            process.stderr.write(`no profile matches "${query}"\n`);
            process.exitCode = 1;
            return;
          }
          const ex = await store.explain(id);
          const probabilistic = await probabilisticLinksFor(store, id);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(probabilistic.length ? { ...ex, probabilisticLinks: probabilistic } : ex, null, 2)}\n`);
            return;
          }
          const w = (s: string) => process.stdout.write(`${s}\n`);
          w(`profile ${ex.profileId}${ex.aliases.length ? ` (also known as ${ex.aliases.join(', ')})` : ''}`);
          w(`records (${ex.records.length}):`);
          for (const r of ex.records) {
            const key = `${r.source}/${r.stream}/${r.recordId}`;
            w(`  ${key}  ${r.kind}  observed ${r.observedAt}`);
            for (const l of ex.links.filter((x) => x.recordKey === key)) w(`    linked by ${showKey(l.identifierKey)}  (rule ${l.rule})`);
            for (const f of ex.refused.filter((x) => x.recordKey === key)) {
              w(`    NOT linked by ${showKey(f.identifierKey)}: ${f.reason}${f.profiles.length ? ` [profiles ${f.profiles.join(', ')}]` : ''}`);
            }
          }
          w(`merges (${ex.merges.length}):`);
          for (const m of ex.merges) w(`  ${m.at} absorbed ${m.absorbed} via ${showKey(m.identifierKey)} from record ${m.recordKey} (rule ${m.rule})`);
          for (const line of formatProbabilisticLinks(probabilistic)) w(line);
          for (const line of consentLines(ex.consent ?? [])) w(line);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
  cmd
    .command('refusals')
    .description('List refused identifier links, newest first: which record, which identifier, why, and the profile the record is in')
    .option('--limit <n>', 'how many to list', '20')
    .option('--json', 'print JSON')
    .action(async (opts: { limit: string; json?: boolean }, sub: Command) => {
      try {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit: expected a whole number of at least 1, got "${opts.limit}"`);
        await withEngine(sub, async ({ store }) => {
          if (!store.listRefusals) throw new ConfigError('this store does not keep refusals');
          const { refusals, total } = await store.listRefusals(limit);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ total, refusals: refusals.map((r) => ({ ...r, identifier: showKey(r.identifierKey) })) }, null, 2)}\n`);
            return;
          }
          const w = (s: string) => process.stdout.write(`${s}\n`);
          w(`${total} refused link${total === 1 ? '' : 's'}${total > refusals.length ? ` (newest ${refusals.length} shown)` : ''}`);
          for (const r of refusals) {
            const into = r.profileId ? ` -> in ${r.profileId}` : '';
            const near = r.profiles.length ? ` [would join ${r.profiles.join(', ')}]` : '';
            w(`  ${r.at}  ${r.recordKey}${into}  ${showKey(r.identifierKey)}: ${r.reason}${near}`);
          }
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
  return cmd;
}
