// Reference copy of core/resolution/rules.ts as of 5f26641 (before the issue-13 allocation work), kept unchanged
// so the differential test can run the old decisions next to the new ones. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
import type { ResolutionConfig } from '../../config/schema.js';
import { identifierKey } from '../../schema/canonical.js';
import { compileBlocklist, type CandidateKey, type CompiledRules } from '../rules.js';

export type { CandidateKey, CompiledRules };

/** compileRules as it was; only `candidates` differs from ../rules.ts in what it allocates. */
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
