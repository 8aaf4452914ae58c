// Reference copy of core/resolution/rules.ts as of c903fc8 (before the issue-13 resolve work of 2026-12-06), kept unchanged
// so the differential tests can run the old code next to the new. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
import type { ResolutionConfig } from '../../config/schema.js';
import type { Identifier } from '../../schema/canonical.js';
import { BUILT_IN_IDENTIFIER_TYPES, identifierKey } from '../../schema/canonical.js';

/**
 * Values that never link two records, whatever the config says. Each of these
 * is a known way a CDP glues strangers into one profile: placeholders typed into
 * forms, no-reply senders, phone fields filled with zeros.
 */
export const DEFAULT_BLOCKED: Record<string, { exact: string[]; regex: string[] }> = {
  '*': {
    exact: ['', 'null', 'none', 'nil', 'n/a', 'na', 'unknown', 'undefined', '-', '0', 'test', 'xxx'],
    regex: ['^[0\\-\\s.]*$'],
  },
  email: {
    exact: [
      'test@test.com',
      'test@example.com',
      'none@none.com',
      'no@email.com',
      'noemail@noemail.com',
      'email@email.com',
      'a@a.com',
      'asdf@asdf.com',
      'abc@abc.com',
      'user@example.com',
    ],
    regex: ['^no-?reply@', '^do-?not-?reply@', '^(test|none|null|no|noemail|nomail|unknown|example|fake|dummy)@', '@(example\\.(com|org|net)|test\\.com|mailinator\\.com)$'],
  },
  phone: {
    exact: ['+10000000000', '+11234567890', '+15555555555', '+1234567890', '+12345678901'],
    // Seven or more repeats of one digit, or a run of ascending digits, after the country code.
    regex: ['^\\+\\d{1,3}(\\d)\\1{6,}$', '(0123456789|1234567890|123456789$)'],
  },
};

export interface CandidateKey {
  key: string;
  type: string;
  /** What limits count this under: `email`, `external_id:crm`. */
  limitClass: string;
  priority: number;
  rule: string;
}

export interface CompiledRules {
  /** Identifiers of a record that may link it, highest priority first; `blocked` lists the rest with reasons. */
  candidates(ids: Identifier[]): { keys: CandidateKey[]; blocked: Array<{ key: string; reason: string }> };
  limitFor(limitClass: string): number | undefined;
  limitClassOfKey(key: string): string;
  genericThreshold: number;
  maxRecords: number;
  maxIdentifiers: number;
}

interface Blocklist {
  exact: Set<string>;
  regex: RegExp[];
}

/** Why a normalized identifier value never links, or undefined when it may. */
export type BlockedPredicate = (type: string, value: string) => string | undefined;

function addBlock(into: Map<string, Blocklist>, type: string, b: { exact: string[]; regex: string[] }) {
  const cur = into.get(type) ?? { exact: new Set<string>(), regex: [] };
  b.exact.forEach((v) => cur.exact.add(v.trim().toLowerCase()));
  b.regex.forEach((r) => cur.regex.push(new RegExp(r, 'i')));
  into.set(type, cur);
}

/**
 * The blocklist of a resolution config (the built-in list unless
 * `useDefaultBlocklist: false`, plus `blocked`) as one predicate. The mapping uses it
 * to dead-letter a record whose identifiers are all unusable; the resolver uses it to
 * refuse links. One predicate, so the two can never disagree.
 */
export function compileBlocklist(rules: Pick<ResolutionConfig, 'useDefaultBlocklist' | 'blocked'>): BlockedPredicate {
  const blocks = new Map<string, Blocklist>();
  if (rules.useDefaultBlocklist) for (const [t, b] of Object.entries(DEFAULT_BLOCKED)) addBlock(blocks, t, b);
  for (const [t, b] of Object.entries(rules.blocked)) addBlock(blocks, t, b);
  const test = (type: string, value: string): string | undefined => {
    const v = value.toLowerCase();
    for (const list of [blocks.get('*'), blocks.get(type)]) {
      if (!list) continue;
      if (list.exact.has(v)) return `blocked value "${value}"`;
      for (const r of list.regex) if (r.test(v)) return `blocked value "${value}" (matches /${r.source}/)`;
    }
    return undefined;
  };
  return (type, value) => {
    const reason = test(type, value);
    if (reason || type !== 'phone') return reason;
    // A placeholder number does not become a person by gaining an extension (`+15555555555;ext=3`).
    const ext = value.indexOf(';ext=');
    return ext < 0 ? undefined : test(type, value.slice(0, ext));
  };
}

export function compileRules(rules: ResolutionConfig): CompiledRules {
  const blockedReason = compileBlocklist(rules);

  // mergeOn entries: `email` (any email), `external_id` (every namespace), `external_id.crm` (one namespace).
  const priorities = new Map<string, number>();
  rules.mergeOn.forEach((m, i) => priorities.set(m, rules.mergeOn.length - i));

  const limitCache = new Map<string, number | undefined>();

  // What an identifier type (and namespace) links under, worked out once per pair: it was
  // three strings built for every identifier of every record.
  type Described = { priority: number; limitClass: string; rule: string } | undefined;
  const described = new Map<string, Map<string, Described>>();
  function describe(type: string, namespace?: string): Described {
    let byNamespace = described.get(type);
    if (!byNamespace) described.set(type, (byNamespace = new Map()));
    const ns = namespace ?? '';
    if (byNamespace.has(ns)) return byNamespace.get(ns);
    const specific = namespace ? `${type}.${namespace}` : undefined;
    const priority = (specific && priorities.get(specific)) || priorities.get(type);
    const d = priority ? { priority, limitClass: limitClass(type, namespace), rule: `mergeOn:${specific && priorities.get(specific) ? specific : type}` } : undefined;
    // Namespaces come from data: past a bound, answers are worked out again rather than kept.
    if (byNamespace.size < 1000) byNamespace.set(ns, d);
    return d;
  }

  function limitClass(type: string, namespace?: string) {
    return namespace ? `${type}:${namespace}` : type;
  }

  return {
    candidates(ids) {
      const keys: CandidateKey[] = [];
      const blocked: Array<{ key: string; reason: string }> = [];
      for (const id of ids) {
        const d = describe(id.type, id.namespace);
        if (!d) continue;
        const key = identifierKey(id);
        // A record has a few identifiers: a scan of both lists beats a Set per record.
        if (keys.some((k) => k.key === key) || blocked.some((b) => b.key === key)) continue;
        const reason = blockedReason(id.type, id.value);
        if (reason) {
          blocked.push({ key, reason });
          continue;
        }
        keys.push({ key, type: id.type, limitClass: d.limitClass, priority: d.priority, rule: d.rule });
      }
      if (keys.length > 1) keys.sort((a, b) => b.priority - a.priority);
      return { keys, blocked };
    },
    limitFor(cls) {
      // Asked for every candidate join; the few classes of a config are answered once each.
      if (limitCache.has(cls)) return limitCache.get(cls);
      const colon = cls.indexOf(':');
      const limit = colon < 0 ? rules.limits[cls] : (rules.limits[`${cls.slice(0, colon)}.${cls.slice(colon + 1)}`] ?? rules.limits[cls.slice(0, colon)]);
      if (limitCache.size < 1000) limitCache.set(cls, limit);
      return limit;
    },
    limitClassOfKey(key) {
      const head = key.slice(0, key.indexOf('\u0000'));
      return head;
    },
    genericThreshold: rules.genericThreshold,
    maxRecords: rules.maxRecordsPerProfile,
    maxIdentifiers: rules.maxIdentifiersPerProfile,
  };
}

interface ValueList {
  exact: string[];
  regex: string[];
}

/** What `tributary resolve --show-rules` prints: the rules the resolver really applies, defaults filled in. */
export interface EffectiveRules {
  resolver: string;
  identifierTypes: string[];
  mergeOn: string[];
  limits: Record<string, number>;
  genericThreshold: number;
  nameGuard: ResolutionConfig['nameGuard'];
  caps: { maxRecordsPerProfile: number; maxIdentifiersPerProfile: number };
  useDefaultBlocklist: boolean;
  /** Per identifier type (`*`: every type): the built-in values and the configured ones. */
  blocked: Record<string, { builtIn: ValueList; configured: ValueList }>;
}

export function effectiveRules(rules: ResolutionConfig): EffectiveRules {
  const blocked: EffectiveRules['blocked'] = {};
  const empty = (): ValueList => ({ exact: [], regex: [] });
  for (const type of new Set([...Object.keys(DEFAULT_BLOCKED), ...Object.keys(rules.blocked)])) {
    const builtIn = rules.useDefaultBlocklist && DEFAULT_BLOCKED[type] ? DEFAULT_BLOCKED[type] : empty();
    const own = rules.blocked[type];
    blocked[type] = { builtIn: { exact: [...builtIn.exact], regex: [...builtIn.regex] }, configured: own ? { exact: [...own.exact], regex: [...own.regex] } : empty() };
  }
  return {
    resolver: rules.resolver,
    identifierTypes: [...new Set([...BUILT_IN_IDENTIFIER_TYPES, ...rules.identifierTypes])],
    mergeOn: [...rules.mergeOn],
    limits: { ...rules.limits },
    genericThreshold: rules.genericThreshold,
    nameGuard: rules.nameGuard,
    caps: { maxRecordsPerProfile: rules.maxRecordsPerProfile, maxIdentifiersPerProfile: rules.maxIdentifiersPerProfile },
    useDefaultBlocklist: rules.useDefaultBlocklist,
    blocked,
  };
}
