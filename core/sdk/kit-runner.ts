import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PluginError } from '../errors.js';
import { PluginRegistry, declareBuiltIns, resolvePluginSpecifier } from '../plugin/loader.js';
import { runChecks, type CheckOutcome } from './check-run.js';
import { destinationChecks } from './destination-checks.js';
import type { KitFixture } from './fixture.js';
import { sourceChecks } from './source-checks.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

export interface KitReport {
  plugin: string;
  results: Array<CheckOutcome & { connector: string; kind: 'source' | 'destination' }>;
  passed: boolean;
}

/**
 * Load what `target` names: a built-in connector id, a plugin folder or file
 * (a path), or an installed npm package. Returns a registry holding only it
 * (built-in ids: the plugin that provides the id) and how to name it in messages.
 */
export async function loadTarget(target: string, cwd = process.cwd()): Promise<{ registry: PluginRegistry; label: string; only?: string }> {
  const registry = new PluginRegistry();
  const looksLikePath = target.startsWith('.') || isAbsolute(target) || existsSync(resolve(cwd, target));
  if (!looksLikePath) {
    // Only the built-in that declares the id is imported (its manifest says which), not every driver.
    await declareBuiltIns(registry);
    await registry.need('source', target);
    await registry.need('destination', target);
    const ids = registry.list();
    if (ids.sources.includes(target) || ids.destinations.includes(target)) return { registry, label: `built-in connector ${target}`, only: target };
  }
  const spec = looksLikePath && !target.startsWith('.') && !isAbsolute(target) ? `./${target}` : target;
  const file = resolvePluginSpecifier(spec, cwd);
  const own = new PluginRegistry();
  await own.loadFile(file);
  if (own.broken.length) throw new PluginError(`plugin ${target}: ${own.broken[0].error}`, { file });
  return { registry: own, label: `plugin ${target} (${file})` };
}

function pick(ids: string[], wanted: string | undefined, only: string | undefined, kind: string, label: string): string {
  const id = wanted ?? only ?? (ids.length === 1 ? ids[0] : undefined);
  if (!id) throw new PluginError(`${label} has ${ids.length} ${kind} connectors (${ids.join(', ') || 'none'}); name one with \`connector:\` in the fixture's ${kind} section`);
  if (!ids.includes(id)) throw new PluginError(`${label} has no ${kind} connector "${id}" (it has: ${ids.join(', ') || 'none'})`);
  return id;
}

/** Run the connector kit against what `target` names, with the fixture's data. Never throws for a failing connector: that is a failed check. */
export async function runKit(target: string, fixture: KitFixture, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<KitReport> {
  const { registry, label, only } = await loadTarget(target, opts.cwd);
  const timeout = opts.timeoutMs ?? fixture.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const results: KitReport['results'] = [];
  const ids = registry.list();
  if (fixture.source) {
    const onlySource = only && ids.sources.includes(only) ? only : undefined;
    const id = pick(only && !onlySource ? [] : ids.sources, fixture.source.connector, onlySource, 'source', label);
    const c = registry.source(id);
    for (const r of await runChecks(id, sourceChecks(c, fixture.source, fixture.baseDir), timeout)) results.push({ ...r, connector: id, kind: 'source' });
  }
  if (fixture.destination) {
    const onlyDest = only && ids.destinations.includes(only) ? only : undefined;
    const id = pick(only && !onlyDest ? [] : ids.destinations, fixture.destination.connector, onlyDest, 'destination', label);
    const c = registry.destination(id);
    for (const r of await runChecks(id, destinationChecks(c, fixture.destination, fixture.baseDir), timeout)) results.push({ ...r, connector: id, kind: 'destination' });
  }
  return { plugin: label, results, passed: results.every((r) => r.verdict !== 'fail') };
}

/** One line per check, then a summary line. */
export function formatKitReport(report: KitReport): string {
  const lines = [`connector kit: ${report.plugin}`];
  for (const r of report.results) {
    const mark = r.verdict === 'pass' ? 'PASS' : r.verdict === 'fail' ? 'FAIL' : 'n/a ';
    lines.push(`  ${mark}  ${r.kind} ${r.connector}: ${r.check}${r.reason ? `: ${r.reason}` : ''}`);
  }
  const n = (v: CheckOutcome['verdict']) => report.results.filter((r) => r.verdict === v).length;
  lines.push(`${n('pass')} passed, ${n('fail')} failed, ${n('not-exercised')} not exercised by the fixture`);
  return `${lines.join('\n')}\n`;
}
