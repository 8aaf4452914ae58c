// Reference copy of core/resolution/deterministic.ts as of 5f26641 (before the issue-13 allocation work), kept unchanged
// so the differential test can run the old decisions next to the new ones. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
import type { CanonicalRecord } from '../../schema/canonical.js';
import { recordKey } from '../../schema/canonical.js';
import { compileRules, type CandidateKey, type CompiledRules } from './rules.js';
// Today's survivorship: it changed only by an optional record-key argument, which this copy does not pass.
import { Survivorship } from '../survivorship.js';
import { breaksCapOrLimit } from './limits.js';
import { addEvidence, compareEvidence, emptyEvidence, familyName, foldCode, givenName, hasGiven, traitGetter, type NameEvidence } from './name-guard.js';
import type {
  IdentityGraph,
  LinkDecision,
  MergeEvent,
  ProfileState,
  RefusedMerge,
  ResolutionResult,
  Resolver,
  ResolverContext,
} from '../types.js';

/** Working copy of a profile during one batch: identifier sets and per-class counts kept hot. */
interface Working {
  state: ProfileState;
  keys: Set<string>;
  classCounts: Map<string, number>;
  isNew: boolean;
  /** Names the profile's records carry, with counts: what the name guard compares with. */
  names: NameEvidence;
}

/** How many presenters of a value are fetched per key; past this many a value is generic anyway. */
const PRESENTER_LIMIT = 50;
const STRICT: Readonly<{ strict?: boolean; personal?: boolean }> = Object.freeze({ strict: true });
const PERSONAL: Readonly<{ strict?: boolean; personal?: boolean }> = Object.freeze({ personal: true });
const NONE: readonly Working[] = Object.freeze([]);

/**
 * The default resolver: exact identifiers link records, guarded by rules.
 *
 * For each record, its mergeable identifiers are taken in priority order. Each
 * one either joins the profile built so far, pulls in (merges) the profile that
 * owns it, or is refused because the merge would break a limit, the cap, or the
 * value is generic. A refused identifier is recorded, never silently dropped.
 */
export class ReferenceDeterministicResolver implements Resolver {
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
    for (const c of candidates) {
      for (const k of c.keys) keySet.add(k.key);
      for (const b of c.blocked) keySet.add(b.key);
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
    const dobGetters = guard ? guard.dateOfBirthTraits.map(traitGetter) : [];
    const postcodeGetters = guard ? guard.postalCodeTraits.map(traitGetter) : [];
    const namesOf = (traits: Record<string, unknown>): NameEvidence => {
      const e = emptyEvidence();
      if (!guard) return e;
      const first = (getters: ReadonlyArray<(t: Record<string, unknown>) => unknown>) => {
        for (const get of getters) {
          const v = foldCode(get(traits));
          if (v !== undefined) return v;
        }
        return undefined;
      };
      addEvidence(e, {
        given: givenName(traits, guard.traits),
        family: familyName(traits, guard.traits, guard.familyTraits),
        dob: first(dobGetters),
        postcode: first(postcodeGetters),
      });
      return e;
    };

    const working = new Map<string, Working>();
    for (const [id, state] of loaded) working.set(id, this.toWorking(state, rules, false, namesOf));
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
    const age = (w: Working) => [w.isNew ? 1 : 0, w.state.createdAt, w.state.id] as const;
    const older = (a: Working, b: Working) => {
      const [x, y] = [age(a), age(b)];
      return x[0] !== y[0] ? x[0] < y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
    };
    /** The profiles presenting a value: its owner first, then the others, oldest first. */
    const presentersOf = (key: string): readonly Working[] => {
      const o = ownerOf(key);
      const stored = storedPresenters.get(key);
      const local = presented.get(key);
      if (!stored && !local) {
        // Most values have no presenter but their owner: no sets, no sorting.
        const owner = o === undefined ? undefined : working.get(o);
        return owner ? [owner] : NONE;
      }
      const ids = new Set<string>();
      if (stored) for (const p of stored) ids.add(final(p));
      if (local) for (const p of local) ids.add(final(p));
      if (o !== undefined) ids.delete(o);
      const others = [...ids].flatMap((id) => (working.has(id) ? [working.get(id)!] : [])).sort((a, b) => (older(a, b) ? -1 : 1));
      const owner = o === undefined ? undefined : working.get(o);
      return owner ? [owner, ...others] : others;
    };
    /**
     * How many distinct presenters a value has: for a name-guarded type, profiles whose
     * names can be one person's count once (a person with a refused misspelt record is
     * still one person); a nameless profile counts on its own. Stops past the threshold.
     */
    const presenterCount = (key: string, type: string, ps: readonly Working[]): number => {
      const unseen = Math.max(0, (presentedCounts.get(key) ?? 0) - (storedPresenters.get(key)?.length ?? 0));
      if (!guarded(type)) return ps.length + unseen;
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

    const wouldBreak = (parts: readonly Working[], extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey) =>
      breaksCapOrLimit(rules, parts, extra, addRecords, more);

    /** Why joining `other` through `c` is refused by name, or undefined; with the match score when allowed. */
    const nameCheck = (c: CandidateKey, mine: NameEvidence, target: Working | undefined, other: Working): { reason?: string; score: number } => {
      if (!guarded(c.type)) return { score: 0 };
      const mode = guardMode(c.type);
      const sides = [mine, target?.names].filter((s): s is NameEvidence => s !== undefined);
      // A record without a given name joining a named profile is judged by that profile's names.
      const named = sides.filter(hasGiven);
      let score = 0;
      for (const side of mode.strict && named.length ? named : sides) {
        const cmp = compareEvidence(side, other.names, mode);
        if (!cmp.ok) return { reason: cmp.pair ? `name guard: given names "${cmp.pair[0]}" and "${cmp.pair[1]}" differ` : `name guard: ${cmp.why ?? 'names differ'}`, score: 0 };
        score += cmp.score;
      }
      return { score };
    };

    const newProfile = (): Working => {
      const id = ctx.newProfileId();
      const w = this.toWorking(
        { id, createdAt: now, updatedAt: now, identifiers: [], recordCount: 0, traits: {}, traitSources: {}, computed: {}, aggregates: {} },
        rules,
        true,
        namesOf,
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

    batch.forEach((record, i) => {
      const rk = recordKeys[i];
      const prev = existing.get(rk);
      const { keys, blocked } = candidates[i];
      // A record read again stays in the profile it is in; its new identifiers may extend it.
      let target: Working | undefined = prev ? working.get(final(prev.profileId)) : undefined;
      const accepted: CandidateKey[] = [];
      const refuse = (c: CandidateKey, profiles: string[], reason: string) =>
        refused.push({ recordKey: rk, identifierKey: c.key, profiles, reason, at: now });

      const mine = namesOf(record.traits);
      /** Values through which the record joined a profile that presents (not owns) them. */
      const joinedVia: CandidateKey[] = [];
      for (const c of keys) {
        const presenters = presentersOf(c.key);
        const count = presenterCount(c.key, c.type, presenters);
        if (count > rules.genericThreshold) {
          if (!genericReported.has(c.key)) {
            genericReported.add(c.key);
            genericValues.push({ identifierKey: c.key, profiles: count });
          }
          refuse(c, ownerOf(c.key) ? [ownerOf(c.key)!] : [], `generic: presented by more than ${rules.genericThreshold} profiles`);
          continue;
        }
        const ownerId = ownerOf(c.key);
        if (target && ownerId === target.state.id) {
          accepted.push(c);
          continue;
        }
        if (!presenters.length) {
          // A value nobody holds yet: only the limits of the profile it would join apply.
          const parts = target ? [target] : [];
          const limit = wouldBreak(parts, accepted, prev ? 0 : 1, c);
          if (limit) refuse(c, parts.map((p) => p.state.id), limit);
          else accepted.push(c);
          continue;
        }
        // The value may be presented by several profiles (a household line, a person
        // whose first record was refused): join the one whose names agree best. Only
        // joining its owner is a link; joining a profile that merely presents it is not,
        // and the refusal by the owner is recorded, so a record read again decides the same.
        let chosen: { w: Working; score: number } | undefined;
        let firstRefusal: { reason: string; parts: Working[] } | undefined;
        let ownerRefusal: { reason: string; parts: Working[] } | undefined;
        for (const p of presenters) {
          if (p === target) continue;
          const parts = target ? [target, p] : [p];
          const limit = wouldBreak(parts, accepted, prev ? 0 : 1, c);
          const names = limit ? { reason: limit, score: 0 } : nameCheck(c, mine, target, p);
          if (names.reason) {
            firstRefusal ??= { reason: names.reason, parts };
            if (p.state.id === ownerId) ownerRefusal = { reason: names.reason, parts };
            continue;
          }
          if (!chosen || names.score > chosen.score) chosen = { w: p, score: names.score };
        }
        const refusal = ownerRefusal ?? firstRefusal;
        if (!chosen || chosen.w.state.id !== ownerId) {
          if (refusal) refuse(c, refusal.parts.map((p) => p.state.id), refusal.reason);
          if (chosen) {
            target = target ? merge(target, chosen.w, rk, c) : chosen.w;
            joinedVia.push(c);
          }
          continue;
        }
        accepted.push(c);
        target = target ? merge(target, chosen.w, rk, c) : chosen.w;
      }

      if (!target) target = newProfile();
      const pid = target.state.id;
      assignments.set(rk, pid);
      for (const c of accepted) {
        links.push({ recordKey: rk, identifierKey: c.key, rule: c.rule });
        // A value joined through a profile that only presents it stays its owner's.
        const o = ownerOf(c.key);
        if (o !== undefined && o !== pid) continue;
        if (o === undefined) localOwners.set(c.key, pid);
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
        addEvidence(target.names, mine);
        survivorship.apply(target.state, record);
      }
      touched.add(pid);
      // With this record's names added, other profiles presenting the same values may now
      // be the same person (Archie Warneke and Caleb Priest, born the same day, joined by
      // Archie Priest): merge those, so the outcome does not depend on which came first.
      // Each is checked against the whole joined profile, never through the record alone.
      let joined = target;
      for (const c of [...accepted, ...joinedVia]) {
        if (!guarded(c.type)) continue;
        for (const p of presentersOf(c.key)) {
          if (p === joined || wouldBreak([joined, p], [], 0)) continue;
          if (nameCheck(c, joined.names, undefined, p).reason) continue;
          joined = merge(joined, p, rk, c);
          touched.add(joined.state.id);
        }
      }
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
        w.names = emptyEvidence();
        const mine = [...byKey.values()].filter((x) => x.profile === id);
        w.state.recordCount = mine.length;
        for (const x of mine) {
          survivorship.apply(w.state, x.record);
          addEvidence(w.names, namesOf(x.record.traits));
        }
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
      // Keys only grow: a profile that gained none keeps its (sorted) list.
      if (w.keys.size !== w.state.identifiers.length) w.state.identifiers = [...w.keys].sort();
      w.state.updatedAt = now;
      if (guard) w.state.names = w.names;
      profiles.push(w.state);
    }
    return { assignments, links, identifierOwners, merges, refused, profiles, genericValues, presented: presentedPairs, reread: [...existing.keys()] };
  }

  private toWorking(state: ProfileState, rules: CompiledRules, isNew: boolean, namesOf: (traits: Record<string, unknown>) => NameEvidence): Working {
    const classCounts = new Map<string, number>();
    for (const k of state.identifiers) {
      const cls = rules.limitClassOfKey(k);
      classCounts.set(cls, (classCounts.get(cls) ?? 0) + 1);
    }
    // A profile stored before names were kept: its surviving traits are the best evidence there is.
    const names = emptyEvidence();
    addEvidence(names, state.names ?? namesOf(state.traits));
    return { state, keys: new Set(state.identifiers), classCounts, isNew, names };
  }
}
