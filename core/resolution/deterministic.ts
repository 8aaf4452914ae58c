import type { CanonicalRecord } from '../schema/canonical.js';
import { recordKey } from '../schema/canonical.js';
import { compileRules, type CandidateKey, type CompiledRules } from './rules.js';
import { Survivorship } from './survivorship.js';
import { givenName, namesCompatible } from './name-guard.js';
import type {
  IdentityGraph,
  LinkDecision,
  MergeEvent,
  ProfileState,
  RefusedMerge,
  ResolutionResult,
  Resolver,
  ResolverContext,
} from './types.js';

/** Working copy of a profile during one batch: identifier sets and per-class counts kept hot. */
interface Working {
  state: ProfileState;
  keys: Set<string>;
  classCounts: Map<string, number>;
  isNew: boolean;
}

/**
 * The default resolver: exact identifiers link records, guarded by rules.
 *
 * For each record, its mergeable identifiers are taken in priority order. Each
 * one either joins the profile built so far, pulls in (merges) the profile that
 * owns it, or is refused because the merge would break a limit, the cap, or the
 * value is generic. A refused identifier is recorded, never silently dropped.
 */
export class DeterministicResolver implements Resolver {
  readonly id = 'deterministic';
  private compiled?: { rules: ResolverContext['rules']; compiled: CompiledRules; survivorship: Survivorship };

  private setup(ctx: ResolverContext) {
    if (!this.compiled || this.compiled.rules !== ctx.rules) {
      this.compiled = { rules: ctx.rules, compiled: compileRules(ctx.rules), survivorship: new Survivorship(ctx.rules) };
    }
    return this.compiled;
  }

  async resolve(ctx: ResolverContext, batch: CanonicalRecord[], graph: IdentityGraph): Promise<ResolutionResult> {
    const { compiled: rules, survivorship } = this.setup(ctx);
    const now = ctx.now().toISOString();

    const candidates = batch.map((r) => rules.candidates(r.identifiers));
    const allKeys = [...new Set(candidates.flatMap((c) => [...c.keys.map((k) => k.key), ...c.blocked.map((b) => b.key)]))];
    const recordKeys = batch.map(recordKey);
    const [owners, existing] = await Promise.all([graph.lookupIdentifiers(allKeys), graph.existingRecords(recordKeys)]);
    // Only an owned value can have been refused for a profile: ask about those alone.
    const presentedCounts = await graph.presentedBy([...owners.keys()]);
    const loadIds = new Set<string>([...owners.values(), ...[...existing.values()].map((r) => r.profileId)]);
    const loaded = await graph.getProfiles([...loadIds]);

    const working = new Map<string, Working>();
    for (const [id, state] of loaded) working.set(id, this.toWorking(state, rules, false));
    const absorbedInto = new Map<string, string>();
    const final = (id: string): string => {
      let cur = id;
      while (absorbedInto.has(cur)) cur = absorbedInto.get(cur)!;
      return cur;
    };
    const localOwners = new Map<string, string>();
    const ownerOf = (key: string): string | undefined => {
      const o = localOwners.get(key) ?? owners.get(key);
      return o === undefined ? undefined : final(o);
    };
    const presented = new Map<string, Set<string>>();
    // The owner counts as one presenter; others are stored and counted as refusals happen.
    const presentedCount = (key: string) =>
      (ownerOf(key) !== undefined ? 1 : 0) + (presentedCounts.get(key) ?? 0) + (presented.get(key)?.size ?? 0);

    const assignments = new Map<string, string>();
    const links: LinkDecision[] = [];
    const merges: MergeEvent[] = [];
    const refused: RefusedMerge[] = [];
    const genericValues: ResolutionResult['genericValues'] = [];
    const genericReported = new Set<string>();
    const recompute = new Set<string>();
    const touched = new Set<string>();

    const wouldBreak = (parts: Working[], extra: CandidateKey[], addRecords: number): string | undefined => {
      const counts = new Map<string, number>();
      const seen = new Set<string>();
      let records = addRecords;
      for (const w of parts) {
        records += w.state.recordCount;
        for (const k of w.keys) seen.add(k);
        for (const [cls, n] of w.classCounts) counts.set(cls, (counts.get(cls) ?? 0) + n);
      }
      for (const c of extra) {
        if (seen.has(c.key)) continue;
        seen.add(c.key);
        counts.set(c.limitClass, (counts.get(c.limitClass) ?? 0) + 1);
      }
      if (records > rules.maxRecords) return `cap: more than ${rules.maxRecords} records in one profile`;
      if (seen.size > rules.maxIdentifiers) return `cap: more than ${rules.maxIdentifiers} identifiers in one profile`;
      for (const [cls, n] of counts) {
        const limit = rules.limitFor(cls);
        if (limit !== undefined && n > limit) return `limit: more than ${limit} ${cls.replace(':', '.')} values in one profile`;
      }
      return undefined;
    };

    const guard = ctx.rules.nameGuard;
    const nameConflict = (c: CandidateKey, record: CanonicalRecord, target: Working | undefined, owner: Working): string | undefined => {
      if (!guard || !guard.via.includes(c.type)) return undefined;
      const theirs = givenName(owner.state.traits, guard.traits);
      if (!theirs) return undefined;
      for (const mine of [givenName(record.traits, guard.traits), target ? givenName(target.state.traits, guard.traits) : undefined]) {
        if (!namesCompatible(mine, theirs)) return `name guard: given names "${mine}" and "${theirs}" differ`;
      }
      return undefined;
    };

    const newProfile = (): Working => {
      const id = ctx.newProfileId();
      const w = this.toWorking(
        { id, createdAt: now, updatedAt: now, identifiers: [], recordCount: 0, traits: {}, traitSources: {}, computed: {}, aggregates: {} },
        rules,
        true,
      );
      working.set(id, w);
      return w;
    };

    const addKey = (w: Working, c: CandidateKey) => {
      if (w.keys.has(c.key)) return;
      w.keys.add(c.key);
      w.classCounts.set(c.limitClass, (w.classCounts.get(c.limitClass) ?? 0) + 1);
    };

    const merge = (a: Working, b: Working, rk: string, c: CandidateKey): Working => {
      // The oldest profile survives, so ids that destinations already hold stay valid.
      // A stored profile always beats one born in this batch (clocks of several workers may disagree).
      const aFirst =
        a.isNew !== b.isNew ? !a.isNew : a.state.createdAt < b.state.createdAt || (a.state.createdAt === b.state.createdAt && a.state.id < b.state.id);
      const [survivor, absorbed] = aFirst ? [a, b] : [b, a];
      for (const k of absorbed.keys) survivor.keys.add(k);
      for (const [cls, n] of absorbed.classCounts) survivor.classCounts.set(cls, (survivor.classCounts.get(cls) ?? 0) + n);
      survivor.state.recordCount += absorbed.state.recordCount;
      survivorship.merge(survivor.state, absorbed.state);
      absorbedInto.set(absorbed.state.id, survivor.state.id);
      working.delete(absorbed.state.id);
      touched.delete(absorbed.state.id);
      if (recompute.delete(absorbed.state.id)) recompute.add(survivor.state.id);
      // A profile born earlier in this same batch was never stored: nothing outside needs to follow it.
      if (!absorbed.isNew) merges.push({ survivor: survivor.state.id, absorbed: absorbed.state.id, recordKey: rk, identifierKey: c.key, rule: c.rule, at: now });
      return survivor;
    };

    batch.forEach((record, i) => {
      const rk = recordKeys[i];
      const prev = existing.get(rk);
      const { keys, blocked } = candidates[i];
      // A record read again stays in the profile it is in; its new identifiers may extend it.
      let target: Working | undefined = prev ? working.get(final(prev.profileId)) : undefined;
      const accepted: CandidateKey[] = [];
      const refuse = (c: CandidateKey, profiles: string[], reason: string) =>
        refused.push({ recordKey: rk, identifierKey: c.key, profiles, reason, at: now });

      for (const c of keys) {
        if (presentedCount(c.key) > rules.genericThreshold) {
          if (!genericReported.has(c.key)) {
            genericReported.add(c.key);
            genericValues.push({ identifierKey: c.key, profiles: presentedCount(c.key) });
          }
          refuse(c, ownerOf(c.key) ? [ownerOf(c.key)!] : [], `generic: presented by more than ${rules.genericThreshold} profiles`);
          continue;
        }
        const ownerId = ownerOf(c.key);
        const owner = ownerId === undefined ? undefined : working.get(ownerId);
        if (owner && owner === target) {
          accepted.push(c);
          continue;
        }
        const parts = [target, owner].filter((w): w is Working => w !== undefined);
        const reason = wouldBreak(parts, [...accepted, c], prev ? 0 : 1) ?? (owner ? nameConflict(c, record, target, owner) : undefined);
        if (reason) {
          refuse(c, parts.map((p) => p.state.id), reason);
          continue;
        }
        accepted.push(c);
        if (owner) target = target ? merge(target, owner, rk, c) : owner;
      }

      if (!target) target = newProfile();
      const pid = target.state.id;
      assignments.set(rk, pid);
      for (const c of accepted) {
        links.push({ recordKey: rk, identifierKey: c.key, rule: c.rule });
        if (ownerOf(c.key) !== pid) localOwners.set(c.key, pid);
        addKey(target, c);
      }
      for (const c of keys) {
        const o = ownerOf(c.key);
        if (o === undefined || o === pid) continue;
        let set = presented.get(c.key);
        if (!set) presented.set(c.key, (set = new Set()));
        set.add(pid);
      }
      for (const b of blocked) refused.push({ recordKey: rk, identifierKey: b.key, profiles: [], reason: b.reason, at: now });
      if (prev) recompute.add(pid);
      else {
        target.state.recordCount += 1;
        survivorship.apply(target.state, record);
      }
      touched.add(pid);
    });

    // Profiles holding a record that changed are rebuilt from their records: the
    // old version's contribution (a sum, a count) cannot be subtracted from a cell.
    if (recompute.size) {
      const finalIds = [...recompute].map(final);
      const origin = [...loadIds].filter((id) => finalIds.includes(final(id)));
      const stored = await graph.recordsOfProfiles(origin);
      const byKey = new Map(stored.map((r) => [recordKey(r), { record: r as CanonicalRecord, profile: final(r.profileId) }]));
      batch.forEach((r, i) => byKey.set(recordKeys[i], { record: r, profile: final(assignments.get(recordKeys[i])!) }));
      for (const id of new Set(finalIds)) {
        const w = working.get(id)!;
        survivorship.reset(w.state);
        const mine = [...byKey.values()].filter((x) => x.profile === id);
        w.state.recordCount = mine.length;
        for (const x of mine) survivorship.apply(w.state, x.record);
      }
    }

    const identifierOwners = new Map<string, string>();
    for (const [k, p] of localOwners) identifierOwners.set(k, final(p));
    for (const [rk, p] of assignments) assignments.set(rk, final(p));
    const presentedPairs: Array<[string, string]> = [];
    for (const [k, set] of presented) {
      for (const p of new Set([...set].map(final))) if (p !== ownerOf(k)) presentedPairs.push([k, p]);
    }

    const profiles: ProfileState[] = [];
    for (const id of new Set([...touched].map(final))) {
      const w = working.get(id)!;
      w.state.identifiers = [...w.keys].sort();
      w.state.updatedAt = now;
      profiles.push(w.state);
    }
    return { assignments, links, identifierOwners, merges, refused, profiles, genericValues, presented: presentedPairs, reread: [...existing.keys()] };
  }

  private toWorking(state: ProfileState, rules: CompiledRules, isNew: boolean): Working {
    const classCounts = new Map<string, number>();
    for (const k of state.identifiers) {
      const cls = rules.limitClassOfKey(k);
      classCounts.set(cls, (classCounts.get(cls) ?? 0) + 1);
    }
    return { state, keys: new Set(state.identifiers), classCounts, isNew };
  }
}
