import { doubleMetaphone } from 'double-metaphone';
import { ConfigError } from '../../core/errors.js';
import { readTrait } from './compare.js';
import type { BlockingPart, BlockingRule, ComparisonConfig } from './config.js';

/**
 * Blocking: only records that agree on every part of at least one rule are
 * compared. A record's blocking keys are `rule|part|part...`; they are what the
 * store indexes so an incremental batch finds its candidates without a scan.
 */

function partValue(traits: Record<string, unknown>, part: BlockingPart): string | undefined {
  const { value } = readTrait(traits, part.trait);
  if (value === undefined) return undefined;
  switch (part.transform) {
    case 'exact':
      return value;
    case 'metaphone':
      return doubleMetaphone(value)[0] || undefined;
    case 'prefix':
      return value.slice(0, part.length);
    case 'year': {
      const digits = value.replace(/\D/g, '');
      return digits.length >= 4 ? digits.slice(0, 4) : undefined;
    }
  }
}

/** The keys a record files under, one per rule whose parts are all present. */
export function blockingKeys(traits: Record<string, unknown>, rules: BlockingRule[]): string[] {
  const keys: string[] = [];
  for (const rule of rules) {
    const parts: string[] = [];
    for (const part of rule.on) {
      const v = partValue(traits, part);
      if (v === undefined) break;
      parts.push(v);
    }
    if (parts.length === rule.on.length) keys.push(`${rule.name}|${parts.join('|')}`);
  }
  return keys;
}

export function ruleOfKey(key: string): string {
  return key.slice(0, key.indexOf('|'));
}

/** Candidate pairs a set of blocks would produce, per rule (before removing pairs two rules share). */
export function estimatePairs(keysPerRecord: string[][]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const keys of keysPerRecord) for (const k of keys) sizes.set(k, (sizes.get(k) ?? 0) + 1);
  const perRule = new Map<string, number>();
  for (const [k, n] of sizes) {
    const r = ruleOfKey(k);
    perRule.set(r, (perRule.get(r) ?? 0) + (n * (n - 1)) / 2);
  }
  return perRule;
}

/**
 * Refuse rules that come close to comparing everything with everything: more pairs
 * than `maxPairs`, or (from 100 records on) more than a quarter of all pairs.
 */
export function checkBlockingSize(perRule: Map<string, number>, records: number, maxPairs: number): void {
  const all = (records * (records - 1)) / 2;
  for (const [rule, n] of perRule) {
    if (n > maxPairs || (records >= 100 && n > all / 4)) {
      throw new ConfigError(
        `blocking rule "${rule}" would compare ${Math.round(n).toLocaleString('en-US')} pairs ` +
          `(all pairs of ${records.toLocaleString('en-US')} records: ${Math.round(all).toLocaleString('en-US')}; limit maxPairs ${maxPairs.toLocaleString('en-US')}): ` +
          'add a part to the rule so its blocks are smaller',
      );
    }
  }
}

/** Traits used by a rule: EM leaves the matching comparisons out when training on that rule's pairs. */
export function traitsOfRule(rule: BlockingRule): Set<string> {
  return new Set(rule.on.map((p) => p.trait));
}

export function comparisonsBlockedBy(rule: BlockingRule, comparisons: ComparisonConfig[]): boolean[] {
  const t = traitsOfRule(rule);
  return comparisons.map((c) => t.has(c.trait));
}

/**
 * Candidate pairs within one set of records, as [i, j] with i < j, each once
 * even when several rules produce it; `filter` keeps only some (e.g. pairs
 * that involve a new record).
 */
export function pairsFromBlocks(keysPerRecord: string[][], filter?: (i: number, j: number) => boolean): Array<[number, number]> {
  const blocks = new Map<string, number[]>();
  keysPerRecord.forEach((keys, i) => {
    for (const k of keys) {
      const b = blocks.get(k);
      if (b) b.push(i);
      else blocks.set(k, [i]);
    }
  });
  const n = keysPerRecord.length;
  const seen = new Set<number>();
  const out: Array<[number, number]> = [];
  for (const members of blocks.values()) {
    for (let x = 0; x < members.length; x++)
      for (let y = x + 1; y < members.length; y++) {
        const i = members[x];
        const j = members[y];
        const id = i * n + j;
        if (seen.has(id)) continue;
        seen.add(id);
        if (!filter || filter(i, j)) out.push([i, j]);
      }
  }
  return out;
}
