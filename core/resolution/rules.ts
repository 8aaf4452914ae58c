import type { ResolutionConfig } from '../config/schema.js';
import type { Identifier } from '../schema/canonical.js';
import { BUILT_IN_IDENTIFIER_TYPES } from '../schema/canonical.js';

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
  candidates(ids: readonly Identifier[]): { keys: readonly CandidateKey[]; blocked: ReadonlyArray<{ key: string; reason: string }> };
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
  // The lists that apply to a type (`*` first), found once per type: this runs for every
  // identifier in the mapping and again in the resolver, and built a two-element array each time.
  const listsByType = new Map<string, readonly Blocklist[]>();
  const listsOf = (type: string): readonly Blocklist[] => {
    let lists = listsByType.get(type);
    if (lists === undefined) {
      const any = blocks.get('*');
      const own = blocks.get(type);
      lists = any ? (own ? [any, own] : [any]) : own ? [own] : [];
      // Types are the config's, but a caller may pass anything: past a bound, found again each time.
      if (listsByType.size < 1000) listsByType.set(type, lists);
    }
    return lists;
  };
  const test = (type: string, value: string): string | undefined => {
    const v = value.toLowerCase();
    const lists = listsOf(type);
    for (let i = 0; i < lists.length; i++) {
      const list = lists[i];
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

const NO_KEYS: readonly CandidateKey[] = Object.freeze([]);
const NO_BLOCKED: ReadonlyArray<{ key: string; reason: string }> = Object.freeze([]);

function hasKey(xs: ReadonlyArray<{ key: string }>, key: string): boolean {
  for (let i = 0; i < xs.length; i++) if (xs[i].key === key) return true;
  return false;
}

/**
 * Highest priority first, equal priorities in the record's order: what the stable
 * `sort((a, b) => b.priority - a.priority)` gives, without the sort's work buffer (a record has a few keys).
 */
function byPriority(keys: CandidateKey[]): void {
  for (let i = 1; i < keys.length; i++) {
    const x = keys[i];
    let j = i - 1;
    for (; j >= 0 && keys[j].priority < x.priority; j--) keys[j + 1] = keys[j];
    keys[j + 1] = x;
  }
}

export function compileRules(rules: ResolutionConfig): CompiledRules {
  const blockedReason = compileBlocklist(rules);

  // mergeOn entries: `email` (any email), `external_id` (every namespace), `external_id.crm` (one namespace).
  const priorities = new Map<string, number>();
  rules.mergeOn.forEach((m, i) => priorities.set(m, rules.mergeOn.length - i));

  const limitCache = new Map<string, number | undefined>();

  // What an identifier type (and namespace) links under, worked out once per pair: it was
  // three strings built for every identifier of every record.
  // `prefix` is the start of identifierKey's text for the pair, so a key is one concatenation.
  type Described = { priority: number; limitClass: string; rule: string; prefix: string } | undefined;
  const described = new Map<string, Map<string, Described>>();
  const knownClasses: Array<{ limitClass: string; prefix: string }> = [];
  function describe(type: string, namespace?: string): Described {
    let byNamespace = described.get(type);
    if (!byNamespace) described.set(type, (byNamespace = new Map()));
    const ns = namespace ?? '';
    if (byNamespace.has(ns)) return byNamespace.get(ns);
    const specific = namespace ? `${type}.${namespace}` : undefined;
    const priority = (specific && priorities.get(specific)) || priorities.get(type);
    const cls = limitClass(type, namespace);
    const d = priority ? { priority, limitClass: cls, rule: `mergeOn:${specific && priorities.get(specific) ? specific : type}`, prefix: `${cls}\u0000` } : undefined;
    // Namespaces come from data: past a bound, answers are worked out again rather than kept.
    if (byNamespace.size < 1000) {
      byNamespace.set(ns, d);
      // A key starts with its class and the first \0: a prefix with no other \0 names one class.
      if (d && knownClasses.length < 32 && d.prefix.indexOf('\u0000') === cls.length) knownClasses.push(d);
    }
    return d;
  }

  function limitClass(type: string, namespace?: string) {
    return namespace ? `${type}:${namespace}` : type;
  }

  return {
    candidates(ids) {
      // Built only when a record has something to put in them: most records block nothing.
      let keys: CandidateKey[] | undefined;
      let blocked: Array<{ key: string; reason: string }> | undefined;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        const d = describe(id.type, id.namespace);
        if (!d) continue;
        // identifierKey's text (a test holds the two equal), with the type's part made once.
        const key = `${d.prefix}${id.value}`;
        // A record has a few identifiers: a scan of both lists beats a Set per record.
        if ((keys && hasKey(keys, key)) || (blocked && hasKey(blocked, key))) continue;
        const reason = blockedReason(id.type, id.value);
        if (reason) {
          (blocked ??= []).push({ key, reason });
          continue;
        }
        (keys ??= []).push({ key, type: id.type, limitClass: d.limitClass, priority: d.priority, rule: d.rule });
      }
      if (keys && keys.length > 1) byPriority(keys);
      return { keys: keys ?? NO_KEYS, blocked: blocked ?? NO_BLOCKED };
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
      // Asked for every identifier of every stored profile a batch loads: a class this config
      // links under is answered without cutting a new string out of the key.
      for (let i = 0; i < knownClasses.length; i++) if (key.startsWith(knownClasses[i].prefix)) return knownClasses[i].limitClass;
      return key.slice(0, key.indexOf('\u0000'));
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
