import { ConfigError } from '../../core/errors.js';
import { DeterministicResolver } from '../../core/resolution/deterministic.js';
import { Survivorship } from '../../core/resolution/survivorship.js';
import type { IdentityGraph, ProbabilisticLink, ProfileState, ResolutionResult, Resolver, ResolverContext } from '../../core/resolution/types.js';
import { parseIdentifierKey, recordKey, type CanonicalRecord } from '../../core/schema/canonical.js';
import { clusterLinks, type Link } from './cluster.js';
import { probabilisticSchema, type ProbabilisticConfig } from './config.js';
import { groupNames, linkRefusal, namesReader } from './names.js';
import { prepareRecords, type MatchModel, type PreparedRecord } from './model.js';
import { BoundedScorer, scoreLevels, type PairScore } from './score.js';

export const RESOLVER_ID = 'probabilistic';

/** Parse `resolution.probabilistic`, naming the YAML path of the first problem. */
export function parseProbabilisticConfig(value: unknown): ProbabilisticConfig {
  if (value === undefined) throw new ConfigError('resolution.probabilistic: required when resolution.resolver is "probabilistic"', { path: 'resolution.probabilistic' });
  const r = probabilisticSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = ['resolution', 'probabilistic', ...issue.path.map(String)].join('.');
  throw new ConfigError(`${path}: ${issue.message}`, { path });
}

/** Hard identifiers of a profile: one value per `external_id:namespace`; differing values never join. */
function hardOf(p: ProfileState | undefined, allow: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of p?.identifiers ?? []) {
    const id = parseIdentifierKey(k);
    if (id.type !== 'external_id' || !id.namespace) continue;
    const cls = `external_id:${id.namespace}`;
    if (!allow.includes(cls) && !allow.includes('external_id')) out.set(cls, id.value);
  }
  return out;
}

interface Node {
  key: string;
  prepared: PreparedRecord;
  traits: Record<string, unknown>;
  profile: string;
  inBatch: boolean;
}

/**
 * Deterministic rules first (exact identifiers, with their guards), then
 * Fellegi-Sunter links between the batch and the stored records that share a
 * blocking key with it, and among the batch itself. A link joins two profiles
 * only through the chaining-resistant clustering (cluster.ts) and never across
 * two different external ids of one namespace unless `allowConflicting` says so.
 * Without a trained model (`tributary resolve --train`) it resolves exactly like
 * the deterministic resolver, and says so once.
 */
export class ProbabilisticResolver implements Resolver {
  readonly id = RESOLVER_ID;
  private readonly inner = new DeterministicResolver();
  private parsed?: { rules: ResolverContext['rules']; cfg: ProbabilisticConfig; survivorship: Survivorship };
  private model?: MatchModel;
  /** Set by useModel: wins over the store's (a dry run of a new model, a rebuild into a scratch store). */
  private pinned?: MatchModel;
  private warnedNoModel = false;

  /** Resolve with this model whatever the graph holds (`resolve --train --dry-run`, `resolve --rebuild`). */
  useModel(model: MatchModel | undefined): void {
    this.pinned = model;
  }

  private setup(ctx: ResolverContext) {
    if (!this.parsed || this.parsed.rules !== ctx.rules) {
      this.parsed = { rules: ctx.rules, cfg: parseProbabilisticConfig(ctx.rules.probabilistic), survivorship: new Survivorship(ctx.rules) };
    }
    return this.parsed;
  }

  private async loadModel(graph: IdentityGraph): Promise<MatchModel | undefined> {
    if (this.pinned) return this.pinned;
    const stored = await graph.latestMatchModel?.(RESOLVER_ID);
    if (!stored) return undefined;
    if (this.model?.version !== stored.version) this.model = JSON.parse(stored.body) as MatchModel;
    return this.model;
  }

  async resolve(ctx: ResolverContext, batch: CanonicalRecord[], graph: IdentityGraph): Promise<ResolutionResult> {
    const { cfg, survivorship } = this.setup(ctx);
    const det = await this.inner.resolve(ctx, batch, graph);
    const keys = batch.map(recordKey);
    const prepared = prepareRecords(batch.map((r, i) => ({ key: keys[i], traits: r.traits })), cfg);
    if (prepared.unexpected) ctx.logger.warn('probabilistic: trait values of an unexpected type compared as missing', { values: prepared.unexpected });
    det.blockingKeys = prepared.records.map((r) => [r.key, r.blockingKeys]);
    const model = await this.loadModel(graph);
    if (!model || !graph.candidatesByBlockingKey) {
      if (!this.warnedNoModel) ctx.logger.warn(model ? 'probabilistic: this store cannot look up blocking keys; exact identifiers only' : 'probabilistic: no trained model yet (run `tributary resolve --train`); exact identifiers only');
      this.warnedNoModel = true;
      return det;
    }
    return this.link(ctx, cfg, survivorship, model, det, prepared.records, batch.map((r) => r.traits), graph);
  }

  private async link(
    ctx: ResolverContext,
    cfg: ProbabilisticConfig,
    survivorship: Survivorship,
    model: MatchModel,
    det: ResolutionResult,
    batch: PreparedRecord[],
    traits: Array<Record<string, unknown>>,
    graph: IdentityGraph,
  ): Promise<ResolutionResult> {
    const now = ctx.now().toISOString();
    const absorbedBy = new Map(det.merges.map((m) => [m.absorbed, m.survivor]));
    const final = (id: string) => {
      let cur = id;
      while (absorbedBy.has(cur)) cur = absorbedBy.get(cur)!;
      return cur;
    };
    const nodes: Node[] = batch.map((p, i) => ({ key: p.key, prepared: p, traits: traits[i], profile: det.assignments.get(p.key)!, inBatch: true }));
    const index = new Map(nodes.map((n, i) => [n.key, i]));
    const byKey = new Map<string, number[]>();
    const file = (k: string, i: number) => {
      const l = byKey.get(k);
      if (l) l.push(i);
      else byKey.set(k, [i]);
    };
    nodes.forEach((n, i) => n.prepared.blockingKeys.forEach((k) => file(k, i)));
    const candidates = await graph.candidatesByBlockingKey!([...byKey.keys()], cfg.candidatesPerKey);
    for (const [k, records] of candidates) {
      for (const r of records) {
        const rk = recordKey(r);
        let i = index.get(rk);
        if (i === undefined) {
          const p = prepareRecords([{ key: rk, traits: r.traits }], cfg, false).records[0];
          i = nodes.push({ key: rk, prepared: p, traits: r.traits, profile: final(r.profileId), inBatch: false }) - 1;
          index.set(rk, i);
        }
        if (!nodes[i].inBatch) file(k, i);
      }
    }
    // Score pairs with at least one batch record, each pair once.
    const seen = new Set<number>();
    const scorer = new BoundedScorer(cfg, model, cfg.matchThreshold);
    const links: Array<Link & { score: PairScore }> = [];
    const readNames = namesReader(cfg);
    const names = nodes.map((n) => readNames(n.traits));
    let refusedPairNames = 0;
    for (const members of byKey.values()) {
      for (const i of members) {
        if (!nodes[i].inBatch) continue;
        for (const j of members) {
          if (i === j || (nodes[j].inBatch && j < i)) continue;
          const id = i < j ? i * nodes.length + j : j * nodes.length + i;
          if (seen.has(id)) continue;
          seen.add(id);
          if (nodes[i].profile === nodes[j].profile) continue;
          const scored = scorer.score(nodes[i].prepared, nodes[j].prepared);
          if (scored && scored.probability >= cfg.matchThreshold) {
            if (linkRefusal(names[i], names[j], cfg.nameGuard)) {
              refusedPairNames++;
              continue;
            }
            links.push({ a: i, b: j, probability: scored.probability, score: scoreLevels(model, scored.levels, nodes[i].prepared.values) });
          }
        }
      }
    }
    if (refusedPairNames) ctx.logger.info('probabilistic: links refused because the two records name different given names, or one names none (nameGuard)', { links: refusedPairNames });
    if (!links.length) return det;

    // Only profiles a link touches matter from here on: loading every candidate's would cost more than the scoring.
    const profileIds = [...new Set(links.flatMap((l) => [nodes[l.a].profile, nodes[l.b].profile]))];
    const inResult = new Map(det.profiles.map((p) => [p.id, p]));
    const stored = await graph.getProfiles(profileIds);
    const stateOf = (id: string) => inResult.get(id) ?? stored.get(id);
    const hardByProfile = new Map(profileIds.map((id) => [id, hardOf(stateOf(id), cfg.allowConflicting)]));
    const out = clusterLinks({
      size: nodes.length,
      links,
      initial: nodes.map((n) => n.profile),
      hard: nodes.map((n) => hardByProfile.get(n.profile)),
      support: cfg.linkSupport,
      names: groupNames(
        nodes.map((n) => ({ group: n.profile, traits: n.traits })),
        cfg.nameGuard,
        (id) => stateOf(id)?.names,
      ),
      requireGivenName: cfg.nameGuard !== false && cfg.nameGuard.requireGivenName,
    });
    if (!out.applied.length) return det;
    if (out.refusedNames) ctx.logger.info('probabilistic: links refused because the given names differ (nameGuard)', { links: out.refusedNames });
    if (out.refusedConflict) ctx.logger.info('probabilistic: links refused across different external ids', { links: out.refusedConflict });

    // Profiles per final cluster; the oldest stored profile survives (ids destinations hold stay valid).
    const groups = new Map<number, Set<string>>();
    nodes.forEach((n, i) => {
      const g = groups.get(out.clusterOf[i]) ?? new Set<string>();
      g.add(n.profile);
      groups.set(out.clusterOf[i], g);
    });
    const linkOf = new Map<string, Link & { score: PairScore }>();
    for (const l of out.applied as Array<Link & { score: PairScore }>) {
      linkOf.set(nodes[l.a].profile, l);
      linkOf.set(nodes[l.b].profile, l);
    }
    const renamed = new Map<string, string>();
    const profiles = new Map(det.profiles.map((p) => [p.id, p]));
    for (const ids of groups.values()) {
      if (ids.size < 2) continue;
      const ordered = [...ids].sort((x, y) => {
        const a = stored.get(x);
        const b = stored.get(y);
        if (!!a !== !!b) return a ? -1 : 1;
        const ca = (a ?? stateOf(x))!.createdAt;
        const cb = (b ?? stateOf(y))!.createdAt;
        return ca < cb ? -1 : ca > cb ? 1 : x < y ? -1 : 1;
      });
      const survivorId = ordered[0];
      const survivor = structuredClone(stateOf(survivorId)!);
      for (const absorbedId of ordered.slice(1)) {
        const absorbed = stateOf(absorbedId)!;
        survivorship.merge(survivor, absorbed);
        survivor.recordCount += absorbed.recordCount;
        survivor.identifiers = [...new Set([...survivor.identifiers, ...absorbed.identifiers])].sort();
        renamed.set(absorbedId, survivorId);
        profiles.delete(absorbedId);
        const l = linkOf.get(absorbedId);
        const [mine, other] = l ? (nodes[l.a].inBatch ? [nodes[l.a].key, nodes[l.b].key] : [nodes[l.b].key, nodes[l.a].key]) : [batch[0].key, ''];
        // No identifier made this merge: the "identifier" names the record it was linked with (explain prints probabilistic=<record>).
        if (stored.has(absorbedId)) det.merges.push({ survivor: survivorId, absorbed: absorbedId, recordKey: mine, identifierKey: `probabilistic\u0000${other}`, rule: 'probabilistic', at: now });
        if (stored.has(absorbedId)) for (const k of absorbed.identifiers) det.identifierOwners.set(k, survivorId);
      }
      survivor.updatedAt = now;
      profiles.set(survivorId, survivor);
    }
    for (const [rk, p] of det.assignments) if (renamed.has(p)) det.assignments.set(rk, renamed.get(p)!);
    for (const [k, p] of det.identifierOwners) if (renamed.has(p)) det.identifierOwners.set(k, renamed.get(p)!);
    det.presented = det.presented.map(([k, p]) => [k, renamed.get(p) ?? p]);
    det.profiles = [...profiles.values()];
    det.probabilisticLinks = (out.applied as Array<Link & { score: PairScore }>).map(
      (l): ProbabilisticLink => ({
        recordKey: nodes[l.a].key,
        otherRecordKey: nodes[l.b].key,
        probability: l.probability,
        modelVersion: model.version,
        evidence: l.score.evidence,
        at: now,
      }),
    );
    return det;
  }
}
