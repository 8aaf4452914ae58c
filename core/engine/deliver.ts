import { dirname, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { DestinationConfig } from '../config/schema.js';
import { ConnectionError, errorMessage } from '../errors.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { DestinationContext as ConnectorContext, DestinationConnector, DestinationItem, Logger, WriteResult } from '../plugin/types.js';
import type { OutboxEntry, ProfileStore } from '../store/types.js';
import { connectorFor, parsePluginConfig } from './plugin-config.js';
import { backoffDelay, sleep } from './retry.js';
import { unlimitedGate } from '../delivery/rate-limit.js';

export interface DeliverDeps {
  loaded: LoadedConfig;
  store: ProfileStore;
  registry: PluginRegistry;
  logger: Logger;
}

export interface DeliverySummary {
  delivered: number;
  failed: number;
  retried: number;
}

export function destinationContext(deps: DeliverDeps, dest: DestinationConfig, signal: AbortSignal) {
  const i = deps.loaded.config.destinations.indexOf(dest);
  const connector = connectorFor(deps.registry, 'destination', dest.connector, ['destinations', i], deps.loaded, dest.name);
  const config = parsePluginConfig(connector.spec.config, dest.config, ['destinations', i, 'config'], deps.loaded, dest.name);
  const ctx: ConnectorContext = {
    name: dest.name,
    config,
    logger: deps.logger,
    metrics: { count: () => undefined },
    signal,
    rate: unlimitedGate,
    baseDir: dirname(resolve(deps.loaded.file)),
  };
  return { connector, ctx };
}

/**
 * Send items, retrying the retryable ones with backoff. Returns the final result per item.
 * A write that throws counts as retryable for the whole batch: the connector could not say.
 */
async function writeWithRetry(
  connector: DestinationConnector,
  ctx: ConnectorContext,
  dest: DestinationConfig,
  items: DestinationItem[],
  stats: DeliverySummary,
  signal: AbortSignal,
): Promise<WriteResult[]> {
  const results: WriteResult[] = new Array(items.length);
  let todo = items.map((_, i) => i);
  for (let attempt = 0; ; attempt++) {
    let got: WriteResult[];
    try {
      got = await connector.write(ctx, todo.map((i) => items[i]));
      if (got.length !== todo.length) throw new Error(`returned ${got.length} results for ${todo.length} items`);
    } catch (err) {
      got = todo.map(() => ({ status: 'retryable', reason: errorMessage(err) }));
    }
    const again: number[] = [];
    let hint: number | undefined;
    got.forEach((r, k) => {
      results[todo[k]] = r;
      if (r.status === 'retryable') {
        again.push(todo[k]);
        if (r.retryAfterMs !== undefined) hint = Math.max(hint ?? 0, r.retryAfterMs);
      }
    });
    if (!again.length || attempt + 1 >= dest.retry.attempts || signal.aborted) return results;
    stats.retried += again.length;
    const delay = backoffDelay(dest.retry, attempt, hint);
    ctx.logger.warn(`destination ${dest.name}: ${again.length} item(s) will be retried in ${delay} ms`, {
      reason: (results[again[0]] as { reason: string }).reason,
    });
    await sleep(delay, signal);
    todo = again;
  }
}

async function itemsFor(store: ProfileStore, entries: OutboxEntry[]): Promise<DestinationItem[]> {
  const items: DestinationItem[] = [];
  for (const e of entries) {
    const profile = await store.profileDocument(e.profileId);
    if (profile) items.push({ key: e.profileId, op: 'upsert', profile, ...(e.mergedFrom.length ? { mergedFrom: e.mergedFrom } : {}) });
    else items.push({ key: e.profileId, op: 'delete' });
  }
  return items;
}

/** Deliver to one destination: the outbox for incremental ones, every profile for snapshots. */
export async function deliver(deps: DeliverDeps, dest: DestinationConfig, signal: AbortSignal): Promise<DeliverySummary> {
  const { connector, ctx } = destinationContext(deps, dest, signal);
  const stats: DeliverySummary = { delivered: 0, failed: 0, retried: 0 };
  const deadLetter = async (items: DestinationItem[], results: WriteResult[]) => {
    const failed = items
      .map((item, k) => ({ item, r: results[k] }))
      .filter((x) => x.r.status === 'permanent')
      .map((x) => ({ sync: dest.name, stream: 'profiles', recordId: x.item.key, reason: (x.r as { reason: string }).reason, payload: x.item }));
    if (failed.length) await deps.store.addDeadLetters(failed);
    stats.failed += failed.length;
    stats.delivered += results.filter((r) => r.status === 'ok').length;
  };

  if (connector.delivery === 'snapshot') {
    await connector.begin?.(ctx);
    try {
      for await (const page of deps.store.iterateProfiles(dest.batchSize)) {
        const items = page.map((p) => ({ key: p.id, op: 'upsert' as const, profile: p }));
        const results = await writeWithRetry(connector, ctx, dest, items, stats, signal);
        const stuck = results.filter((r) => r.status === 'retryable');
        if (stuck.length) throw new ConnectionError(`destination ${dest.name}: ${(stuck[0] as { reason: string }).reason}`, { sync: dest.name });
        await deadLetter(items, results);
      }
      await connector.commit?.(ctx);
    } catch (err) {
      await connector.abort?.(ctx);
      throw err;
    }
    return stats;
  }

  for (;;) {
    if (signal.aborted) break;
    const entries = await deps.store.pendingOutbox(dest.name, dest.batchSize);
    if (!entries.length) break;
    const items = await itemsFor(deps.store, entries);
    const results = await writeWithRetry(connector, ctx, dest, items, stats, signal);
    await deadLetter(items, results);
    // Acknowledge what is settled (ok or dead-lettered); what is still retryable stays queued.
    const settled = entries.filter((_, k) => results[k].status !== 'retryable');
    await deps.store.ackOutbox(dest.name, settled);
    if (settled.length < entries.length) {
      const r = results.find((x) => x.status === 'retryable') as { reason: string };
      throw new ConnectionError(`destination ${dest.name}: ${entries.length - settled.length} item(s) still failing after ${dest.retry.attempts} attempts: ${r.reason}`, { sync: dest.name });
    }
  }
  return stats;
}
