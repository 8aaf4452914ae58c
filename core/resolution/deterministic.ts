import type { CanonicalRecord } from '../schema/canonical.js';
import { recordKey } from '../schema/canonical.js';
import { compileRules, type CandidateKey, type CompiledRules } from './rules.js';
import { Survivorship } from './survivorship.js';
import { breaksFew } from './limits.js';
import { NO_NAMES, copiesAsItself, namesReader, sortedIdentifiers, sortOldestFirst, type Working } from './working.js';
import { addEvidence, compareEvidence, emptyEvidence, hasGiven, type NameEvidence } from './name-guard.js';
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

/** How many presenters of a value are fetched per key; past this many a value is generic anyway. */
const PRESENTER_LIMIT = 50;
const STRICT: Readonly<{ strict?: boolean; personal?: boolean }> = Object.freeze({ strict: true });
const PERSONAL: Readonly<{ strict?: boolean; personal?: boolean }> = Object.freeze({ personal: true });
const NONE: readonly Working[] = Object.freeze([]);
const NO_KEYS: readonly CandidateKey[] = Object.freeze([]);
const UNPUBLISHED: Record<string, never> = Object.freeze({});

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
    const keySet = new Set<string>();
    for (let i = 0; i < candidates.length; i++) {
      const { keys, blocked } = candidates[i];
      for (let j = 0; j < keys.length; j++) keySet.add(keys[j].key);
      for (let j = 0; j < blocked.length; j++) keySet.add(blocked[j].key);
    }
    const allKeys = [...keySet];
    const recordKeys = batch.map(recordKey);
    const [owners, existing] = await Promise.all([graph.lookupIdentifiers(allKeys), graph.existingRecords(recordKeys)]);
    // Only an owned value can have been refused for a profile: ask about those alone.
    const ownedKeys = [...owners.keys()];
    // Presenters are fetched only for values that have any (most have none): one query per value saved.
    const presentedCounts = await graph.presentedBy(ownedKeys);
    const presentedKeys = [...presentedCounts.keys()];
    const storedPresenters =
      graph.presentersOf && presentedKeys.length
        ? await graph.presentersOf(presentedKeys, Math.max(PRESENTER_LIMIT, rules.genericThreshold + 1))
        : new Map<string, string[]>();
    const loadIds = new Set<string>(owners.values());
    for (const r of existing.values()) loadIds.add(r.profileId);
    for (const ps of storedPresenters.values()) for (const p of ps) loadIds.add(p);
    const loaded = await graph.getProfiles([...loadIds]);

    const guard = ctx.rules.nameGuard;
    const guarded = (type: string) => !!guard && guard.via.includes(type);
    const strictVia = guard ? guard.strictVia : [];
    /** Household identifiers (a landline) are compared strictly; the other guarded types (an email) as personal. */
    const guardMode = (type: string) => (strictVia.includes(type) ? STRICT : PERSONAL);
    const namesOf = namesReader(guard);

    const working = new Map<string, Working>();
    loaded.forEach((state, id) => working.set(id, this.toWorking(state, rules, false, namesOf, !!guard)));
    const absorbedInto = new Map<string, string>();
    const final = (id: string): string => {
      let cur = id;
      // One lookup a step (ids are non-empty strings, never undefined): asked for every identifier of every record.
      for (let next = absorbedInto.get(cur); next !== undefined; next = absorbedInto.get(cur)) cur = next;
      return cur;
    };
    const localOwners = new Map<string, string>();
    const ownerOf = (key: string): string | undefined => {
      const o = localOwners.get(key) ?? owners.get(key);
      return o === undefined ? undefined : final(o);
    };
    const presented = new Map<string, Set<string>>();
    /** The profiles presenting a value: its owner first, then the others, oldest first. */
    const presentersOf = (key: string): readonly Working[] => {
      const o = ownerOf(key);
      const stored = storedPresenters.get(key);
      const local = presented.get(key);
      if (!stored && !local) {
        // Most values have no presenter but their owner: no sets, no sorting.
        const owner = o === undefined ? undefined : working.get(o);
        return owner ? (owner.alone ??= [owner]) : NONE;
      }
      const ids = new Set<string>();
      if (stored) for (const p of stored) ids.add(final(p));
      if (local) for (const p of local) ids.add(final(p));
      if (o !== undefined) ids.delete(o);
      const owner = o === undefined ? undefined : working.get(o);
      const out: Working[] = owner ? [owner] : [];
      const from = out.length;
      for (const id of ids) {
        const w = working.get(id);
        if (w) out.push(w);
      }
      if (out.length - from > 1) sortOldestFirst(out, from);
      return out;
    };
    /**
     * How many distinct presenters a value has: for a name-guarded type, profiles whose
     * names can be one person's count once (a person with a refused misspelt record is
     * still one person); a nameless profile counts on its own. Stops past the threshold.
     */
    const presenterCount = (key: string, type: string, ps: readonly Working[]): number => {
      const unseen = Math.max(0, (presentedCounts.get(key) ?? 0) - (storedPresenters.get(key)?.length ?? 0));
      // One presenter or none is a group or a nameless profile either way: nothing to compare.
      if (ps.length <= 1 || !guarded(type)) return ps.length + unseen;
      const groups: NameEvidence[][] = [];
      let nameless = unseen;
      for (const w of ps) {
        if (!hasGiven(w.names)) nameless++;
        else {
          const g = groups.find((members) => members.some((m) => compareEvidence(m, w.names, guardMode(type)).ok));
          if (g) g.push(w.names);
          else groups.push([w.names]);
        }
        if (nameless + groups.length > rules.genericThreshold) break;
      }
      return nameless + groups.length;
    };

    const assignments = new Map<string, string>();
    const links: LinkDecision[] = [];
    const merges: MergeEvent[] = [];
    const refused: RefusedMerge[] = [];
    const genericValues: ResolutionResult['genericValues'] = [];
    const genericReported = new Set<string>();
    const recompute = new Set<string>();
    const touched = new Set<string>();

    /** Why joining `other` through `c` is refused by name (a string), or the match score when allowed (a number). */
    const nameCheck = (c: CandidateKey, mine: NameEvidence, target: Working | undefined, other: Working): string | number => {
      if (!guarded(c.type)) return 0;
      const mode = guardMode(c.type);
      const theirs = target?.names;
      // A record without a given name joining a named profile is judged by that profile's names.
      const mineNamed = hasGiven(mine);
      const theirsNamed = theirs !== undefined && hasGiven(theirs);
      const onlyNamed = mode.strict && (mineNamed || theirsNamed);
      let score = 0;
      for (let side = 0; side < 2; side++) {
        const e = side === 0 ? mine : theirs;
        if (e === undefined || (onlyNamed && !(side === 0 ? mineNamed : theirsNamed))) continue;
        const cmp = compareEvidence(e, other.names, mode);
        if (!cmp.ok) return cmp.pair ? `name guard: given names "${cmp.pair[0]}" and "${cmp.pair[1]}" differ` : `name guard: ${cmp.why ?? 'names differ'}`;
        score += cmp.score;
      }
      return score;
    };

    const newProfile = (names: NameEvidence): Working => {
      const id = ctx.newProfileId();
      // What toWorking gives for a profile with no identifiers and no traits (empty counts, empty
      // evidence: empty traits name nobody), without going through the loops and the names reader.
      // Its traits, sources and computed values are published (survivorship.apply) or reset (a record
      // read again) before the batch ends, always: until then one shared, frozen, empty object stands in.
      const state: ProfileState = { id, createdAt: now, updatedAt: now, identifiers: [], recordCount: 0, traits: UNPUBLISHED, traitSources: UNPUBLISHED, computed: UNPUBLISHED, aggregates: {} };
      const w: Working = { state, keys: new Set(), classCounts: new Map(), isNew: true, names, alone: undefined };
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
      addEvidence(survivor.names, absorbed.names);
      survivorship.merge(survivor.state, absorbed.state);
      absorbedInto.set(absorbed.state.id, survivor.state.id);
      working.delete(absorbed.state.id);
      touched.delete(absorbed.state.id);
      if (recompute.delete(absorbed.state.id)) recompute.add(survivor.state.id);
      // A profile born earlier in this same batch was never stored: nothing outside needs to follow it.
      if (!absorbed.isNew) merges.push({ survivor: survivor.state.id, absorbed: absorbed.state.id, recordKey: rk, identifierKey: c.key, rule: c.rule, at: now });
      return survivor;
    };

    /** Profile ids for a refusal: the profile being built (if any), then the one it would join. */
    const partIds = (a: Working | undefined, b: Working | undefined): string[] => (a ? (b ? [a.state.id, b.state.id] : [a.state.id]) : b ? [b.state.id] : []);
    // Scratch lists of one record, emptied for the next: they never leave the loop body.
    const accepted: CandidateKey[] = [];
    /** Values through which the record joined a profile that presents (not owns) them. */
    const joinedVia: CandidateKey[] = [];

    for (let i = 0; i < batch.length; i++) {
      const record = batch[i];
      const rk = recordKeys[i];
      const prev = existing.get(rk);
      const { keys, blocked } = candidates[i];
      // A record read again stays in the profile it is in; its new identifiers may extend it.
      let target: Working | undefined = prev ? working.get(final(prev.profileId)) : undefined;
      accepted.length = 0;
      joinedVia.length = 0;

      const mine = namesOf(record.traits);
      for (let ki = 0; ki < keys.length; ki++) {
        const c = keys[ki];
        const presenters = presentersOf(c.key);
        const count = presenterCount(c.key, c.type, presenters);
        if (count > rules.genericThreshold) {
          if (!genericReported.has(c.key)) {
            genericReported.add(c.key);
            genericValues.push({ identifierKey: c.key, profiles: count });
          }
          const o = ownerOf(c.key);
          refused.push({ recordKey: rk, identifierKey: c.key, profiles: o ? [o] : [], reason: `generic: presented by more than ${rules.genericThreshold} profiles`, at: now });
          continue;
        }
        const ownerId = ownerOf(c.key);
        if (target && ownerId === target.state.id) {
          accepted.push(c);
          continue;
        }
        if (!presenters.length) {
          // A value nobody holds yet: only the limits of the profile it would join apply.
          const limit = breaksFew(rules, target, undefined, accepted, prev ? 0 : 1, c);
          if (limit) refused.push({ recordKey: rk, identifierKey: c.key, profiles: partIds(target, undefined), reason: limit, at: now });
          else accepted.push(c);
          continue;
        }
        // The value may be presented by several profiles (a household line, a person
        // whose first record was refused): join the one whose names agree best. Only
        // joining its owner is a link; joining a profile that merely presents it is not,
        // and the refusal by the owner is recorded, so a record read again decides the same.
        let chosen: Working | undefined;
        let chosenScore = 0;
        // The first refusal, and the owner's: the joins refused (the profile being built is the first part of each).
        let firstReason: string | undefined;
        let firstWith: Working | undefined;
        let ownerReason: string | undefined;
        let ownerWith: Working | undefined;
        for (let pi = 0; pi < presenters.length; pi++) {
          const p = presenters[pi];
          if (p === target) continue;
          const names = breaksFew(rules, target, p, accepted, prev ? 0 : 1, c) ?? nameCheck(c, mine, target, p);
          if (typeof names === 'string') {
            if (firstReason === undefined) {
              firstReason = names;
              firstWith = p;
            }
            if (p.state.id === ownerId) {
              ownerReason = names;
              ownerWith = p;
            }
            continue;
          }
          if (!chosen || names > chosenScore) {
            chosen = p;
            chosenScore = names;
          }
        }
        if (!chosen || chosen.state.id !== ownerId) {
          const reason = ownerReason ?? firstReason;
          if (reason !== undefined) refused.push({ recordKey: rk, identifierKey: c.key, profiles: partIds(target, ownerReason !== undefined ? ownerWith : firstWith), reason, at: now });
          if (chosen) {
            target = target ? merge(target, chosen, rk, c) : chosen;
            joinedVia.push(c);
          }
          continue;
        }
        accepted.push(c);
        target = target ? merge(target, chosen, rk, c) : chosen;
      }

      // A profile born for this record takes the record's evidence as its own (it is new, and
      // nothing else holds it): adding it to an empty one made a copy of five objects.
      const adopt = !target && !prev && mine !== NO_NAMES;
      if (!target) target = newProfile(adopt ? mine : emptyEvidence());
      const pid = target.state.id;
      assignments.set(rk, pid);
      for (let ai = 0; ai < accepted.length; ai++) {
        const c = accepted[ai];
        links.push({ recordKey: rk, identifierKey: c.key, rule: c.rule });
        // A value joined through a profile that only presents it stays its owner's.
        const o = ownerOf(c.key);
        if (o !== undefined && o !== pid) continue;
        if (o === undefined) localOwners.set(c.key, pid);
        addKey(target, c);
      }
      for (let ki = 0; ki < keys.length; ki++) {
        const c = keys[ki];
        const o = ownerOf(c.key);
        if (o === undefined || o === pid) continue;
        let set = presented.get(c.key);
        if (!set) presented.set(c.key, (set = new Set()));
        set.add(pid);
      }
      for (let bi = 0; bi < blocked.length; bi++) refused.push({ recordKey: rk, identifierKey: blocked[bi].key, profiles: [], reason: blocked[bi].reason, at: now });
      if (prev) recompute.add(pid);
      else {
        target.state.recordCount += 1;
        if (!adopt) addEvidence(target.names, mine);
        survivorship.apply(target.state, record, rk);
      }
      touched.add(pid);
      // With this record's names added, other profiles presenting the same values may now
      // be the same person (Archie Warneke and Caleb Priest, born the same day, joined by
      // Archie Priest): merge those, so the outcome does not depend on which came first.
      // Each is checked against the whole joined profile, never through the record alone.
      let joined = target;
      for (let j = 0; j < accepted.length + joinedVia.length; j++) {
        const c = j < accepted.length ? accepted[j] : joinedVia[j - accepted.length];
        if (!guarded(c.type)) continue;
        const ps = presentersOf(c.key);
        for (let pi = 0; pi < ps.length; pi++) {
          const p = ps[pi];
          if (p === joined || breaksFew(rules, joined, p, NO_KEYS, 0)) continue;
          if (typeof nameCheck(c, joined.names, undefined, p) === 'string') continue;
          joined = merge(joined, p, rk, c);
          touched.add(joined.state.id);
        }
      }
    }

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
        w.names = emptyEvidence();
        const mine = [...byKey.values()].filter((x) => x.profile === id);
        w.state.recordCount = mine.length;
        for (const x of mine) {
          survivorship.apply(w.state, x.record);
          addEvidence(w.names, namesOf(x.record.traits));
        }
      }
    }

    // forEach, not for...of: no [key, value] pair per entry (one per record of the batch). The
    // owners found in this batch become the result in place (same keys, same order): no second map.
    const identifierOwners = localOwners;
    localOwners.forEach((p, k) => localOwners.set(k, final(p)));
    assignments.forEach((p, rk) => assignments.set(rk, final(p)));
    const presentedPairs: Array<[string, string]> = [];
    const finals = new Set<string>();
    for (const [k, set] of presented) {
      const o = ownerOf(k);
      if (set.size === 1) {
        for (const p of set) if (final(p) !== o) presentedPairs.push([k, final(p)]);
        continue;
      }
      finals.clear();
      for (const p of set) finals.add(final(p));
      for (const p of finals) if (p !== o) presentedPairs.push([k, p]);
    }

    const profiles: ProfileState[] = [];
    finals.clear();
    for (const id of touched) finals.add(final(id));
    for (const id of finals) {
      const w = working.get(id)!;
      // Keys only grow: a profile that gained none keeps its (sorted) list; one that did sorts only what it gained.
      if (w.keys.size !== w.state.identifiers.length) w.state.identifiers = sortedIdentifiers(w.state.identifiers, w.keys);
      w.state.updatedAt = now;
      if (guard) w.state.names = w.names;
      profiles.push(w.state);
    }
    return { assignments, links, identifierOwners, merges, refused, profiles, genericValues, presented: presentedPairs, reread: [...existing.keys()] };
  }

  /** `guarded`: the batch writes each touched profile's evidence back to its state (the name guard is on). */
  private toWorking(state: ProfileState, rules: CompiledRules, isNew: boolean, namesOf: (traits: Record<string, unknown>) => NameEvidence, guarded: boolean): Working {
    const classCounts = new Map<string, number>();
    for (const k of state.identifiers) {
      const cls = rules.limitClassOfKey(k);
      classCounts.set(cls, (classCounts.get(cls) ?? 0) + 1);
    }
    // A profile stored before names were kept: its surviving traits are the best evidence there is.
    // Stored evidence that a copy would reproduce exactly is taken as it is (the loaded state is the
    // batch's own), when it is written back anyway; without the guard the state keeps its old value.
    let names: NameEvidence;
    if (guarded && state.names !== undefined && copiesAsItself(state.names)) names = state.names;
    else addEvidence((names = emptyEvidence()), state.names ?? namesOf(state.traits));
    return { state, keys: new Set(state.identifiers), classCounts, isNew, names, alone: undefined };
  }
}
