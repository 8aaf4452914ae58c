import type { TributaryConfig } from './schema.js';

/**
 * Names that one part of the config gives another must exist: a survivorship
 * rule that trusts a source nobody configured would silently never apply.
 * Called at load time, so `validate`, `sync` and `run` all refuse it with the
 * YAML line.
 */
export function checkReferences(config: TributaryConfig, fail: (path: Array<string | number>, message: string) => never): void {
  const sources = config.sources.map((s) => s.name);
  for (const [trait, rule] of Object.entries(config.resolution.traits)) {
    const at = ['resolution', 'traits', trait];
    if (rule.strategy === 'source_priority' && !rule.sources?.length) {
      fail([...at, 'strategy'], 'source_priority needs `sources:`, the source names most trusted first');
    }
    (rule.sources ?? []).forEach((name, i) => {
      if (sources.includes(name)) return;
      const near = closest(name, sources);
      fail([...at, 'sources', i], `no source named "${name}"${near ? ` (did you mean "${near}"?)` : ''}; sources: ${sources.join(', ') || 'none'}`);
    });
  }
}

/** The known name a typo most likely meant: at most a third of its letters off. */
export function closest(name: string, known: string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d <= Math.max(1, Math.floor(k.length / 3)) && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
