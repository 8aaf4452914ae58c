import { BSON, MongoBulkWriteError, MongoError, MongoServerError, type AnyBulkWriteOperation, type Document, type MongoClient } from 'mongodb';
import { ConnectionError } from '../../core/errors.js';
import type { DestinationConnector, DestinationItem, ProfileDocument, WriteResult } from '../../core/plugin/types.js';
import { mongodbConfigSchema } from './config.js';
import { checkFailure, openClient, reasonOf, serverIdentity, type ServerIdentity } from './connection.js';
import { MONGO_FIELD_DESCRIBE, MONGO_FIELD_NAME, mongodbDestinationConfigSchema, type MongodbDestinationConfig } from './destination-config.js';

/** mongod refuses a document over 16 MiB; checked here so one big profile fails alone, not its whole batch. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Codes that mean the credentials or the user's roles are wrong: no retry helps. */
const ACCESS_CODES = new Set([13, 18]);

/**
 * Per-statement write errors worth retrying: a duplicate key on an `_id` upsert
 * (two writers raced), a write conflict, the primary moving, a timeout.
 */
const RETRYABLE_WRITE_CODES = new Set([11000, 112, 91, 189, 262, 6, 7, 89, 9001, 10107, 11600, 11602, 13435, 13436, 50]);

/** What is stored for a profile: the document itself (`_id` = id), or the mapped fields plus the document in `profileField`. */
function documentFor(item: DestinationItem & { profile: ProfileDocument }, config: MongodbDestinationConfig): StoredProfile {
  if (item.payload) {
    const doc: Document = { ...item.payload };
    if (config.profileField) doc[config.profileField] = item.profile;
    return { _id: item.key, ...doc };
  }
  const { id: _id, ...rest } = item.profile;
  return { ...rest, _id: item.key };
}

/** A stored profile: `_id` is the profile id (a string), the rest is free. */
type StoredProfile = { _id: string; [field: string]: unknown };

interface Planned {
  ops: AnyBulkWriteOperation<StoredProfile>[];
  /** Item indexes settled by each op, in op order. */
  owners: number[][];
}

function plan(config: MongodbDestinationConfig, batch: DestinationItem[], results: WriteResult[]): Planned | string {
  // The last item for an `_id` decides; earlier ones share its result (unordered ops on one `_id` would race).
  const groups = new Map<string, number[]>();
  batch.forEach((item, i) => {
    const target = item.op === 'track' ? `track\u0000${i}` : item.op === 'delete' ? (item.previous?.ref ?? item.key) : item.key;
    groups.set(target, [...(groups.get(target) ?? []), i]);
  });
  const ops: AnyBulkWriteOperation<StoredProfile>[] = [];
  const owners: number[][] = [];
  for (const items of groups.values()) {
    const item = batch[items[items.length - 1]];
    const settle = (r: WriteResult) => items.forEach((j) => (results[j] = r));
    if (item.op === 'track') {
      settle({ status: 'permanent', reason: 'this destination takes profiles, not track events' });
    } else if (item.op === 'delete') {
      const _id = item.previous?.ref ?? item.key;
      // A consent withdrawal or a forget removes the document even without mirror: a deletedAt stamp would keep the data in use.
      if (config.mirror || item.erase || item.reason === 'consent_withdrawn') ops.push({ deleteOne: { filter: { _id } } });
      else if (config.deletedAtField) ops.push({ updateOne: { filter: { _id }, update: { $set: { [config.deletedAtField]: new Date() } } } });
      else {
        settle({ status: 'ok' });
        continue;
      }
      owners.push(items);
    } else if (!item.profile) {
      settle({ status: 'permanent', reason: `upsert of ${item.key} carries no profile` });
    } else {
      const bad = Object.keys(item.payload ?? {}).find((k) => !MONGO_FIELD_NAME.test(k) || k === config.profileField);
      if (bad) return `the mapping writes field "${bad}": expected ${MONGO_FIELD_DESCRIBE}, other than profileField`;
      const doc = documentFor({ ...item, profile: item.profile }, config);
      const size = BSON.calculateObjectSize(doc);
      if (size > MAX_DOCUMENT_BYTES) {
        settle({ status: 'permanent', reason: `the document for ${item.key} is ${size} bytes, over MongoDB's limit of ${MAX_DOCUMENT_BYTES}` });
        continue;
      }
      ops.push({ replaceOne: { filter: { _id: item.key }, replacement: doc, upsert: true } });
      owners.push(items);
    }
  }
  return { ops, owners };
}

function codeOf(err: unknown): number | undefined {
  return err instanceof MongoServerError && typeof err.code === 'number' ? err.code : undefined;
}

/**
 * Results from a failed bulk write: each write error settles its own op
 * (permanent with the server's message, or retryable for races and failovers);
 * the others were applied, unless a write concern error leaves them unconfirmed.
 */
function fromBulkError(err: MongoBulkWriteError, planned: Planned, server: ServerIdentity, results: WriteResult[]): void {
  const errors = new Map<number, { code: number; errmsg?: string }>();
  const list = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]).filter((e) => e && typeof e.index === 'number');
  for (const e of list) errors.set(e.index, { code: e.code, errmsg: e.errmsg });
  // No per-statement error: the command itself failed (or was cut off), nothing is known to be written.
  const unconfirmed = !errors.size || Boolean(err.err ?? err.result?.getWriteConcernError?.());
  planned.owners.forEach((items, k) => {
    const e = errors.get(k);
    let r: WriteResult;
    if (e) {
      const reason = `MongoDB refused the document (code ${e.code}): ${server.redact(e.errmsg ?? 'no message')}`;
      r = RETRYABLE_WRITE_CODES.has(e.code) ? { status: 'retryable', reason } : { status: 'permanent', reason };
    } else if (unconfirmed) {
      r = { status: 'retryable', reason: `MongoDB did not confirm the write: ${reasonOf(err, server)}` };
    } else {
      r = { status: 'ok' };
    }
    for (const i of items) results[i] = r;
  });
}

/**
 * Build the `mongodb` destination: one `bulkWrite` per batch (`ordered: false`),
 * `replaceOne` with `upsert` by `_id` = profile id, `deleteOne` by `_id` in mirror
 * mode. Per-document write errors are mapped back to their items. A batch is not
 * one transaction (that needs a replica set): each document is written or not.
 */
export function createMongodbDestination(): DestinationConnector<MongodbDestinationConfig> {
  const clientFor = (config: MongodbDestinationConfig): MongoClient =>
    openClient(mongodbConfigSchema.parse({ url: config.url, database: config.database, connectTimeoutMs: config.connectTimeoutMs }));

  return {
    id: 'mongodb',
    kind: 'destination',
    delivery: 'incremental',
    spec: { config: mongodbDestinationConfigSchema, secrets: ['url'] },
    capabilities: { delete: true },
    // The server splits a bulk write at 100,000 ops and 48 MB messages; 1,000 profiles keep a batch's retry small.
    limits: { maxBatchItems: 1000, maxBatchBytes: 16 * 1024 * 1024, maxItemBytes: MAX_DOCUMENT_BYTES },
    mapping: { names: MONGO_FIELD_NAME, describe: MONGO_FIELD_DESCRIBE },

    async check(ctx) {
      const server = serverIdentity(ctx.config.url);
      const client = clientFor(ctx.config);
      try {
        await client.connect();
        await client.db(ctx.config.database).command({ ping: 1 });
        return { ok: true };
      } catch (err) {
        return { ok: false, message: checkFailure(err, server) };
      } finally {
        await client.close().catch(() => undefined);
      }
    },

    async write(ctx, batch) {
      const config = ctx.config;
      const server = serverIdentity(config.url);
      const results: WriteResult[] = batch.map(() => ({ status: 'retryable', reason: 'not written' }));
      const planned = plan(config, batch, results);
      if (typeof planned === 'string') throw new ConnectionError(`mongodb destination ${ctx.name}: ${planned}`, { sync: ctx.name }, { retryable: false });
      if (!planned.ops.length) return results;
      const settleAll = (r: WriteResult) => planned.owners.forEach((items) => items.forEach((i) => (results[i] = r)));
      await ctx.rate.take();
      const client = clientFor(config);
      try {
        await client.connect();
        await client.db(config.database).collection<StoredProfile>(config.collection).bulkWrite(planned.ops, { ordered: false });
        settleAll({ status: 'ok' });
      } catch (err) {
        const code = codeOf(err);
        if (code !== undefined && ACCESS_CODES.has(code)) {
          throw new ConnectionError(checkFailure(err, server), { sync: ctx.name }, { cause: err, retryable: false });
        }
        if (err instanceof MongoBulkWriteError) fromBulkError(err, planned, server, results);
        else settleAll({ status: 'retryable', reason: `${err instanceof MongoError ? 'MongoDB' : 'mongodb destination'}: ${reasonOf(err, server)}` });
      } finally {
        await client.close().catch(() => undefined);
      }
      return results;
    },
  };
}

/** The `mongodb` destination: one document per profile, `_id` = profile id. See README.md. */
export const mongodbDestination = createMongodbDestination();
