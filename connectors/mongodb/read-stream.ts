import { BSON, type Document, type MongoClient, type SortDirection } from 'mongodb';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { mongodbStreamSchema, type MongodbConfig, type MongodbStreamConfig } from './config.js';
import { readError, type ServerIdentity } from './connection.js';
import { toPlain, toPlainDocument, valueAt } from './convert.js';
import { decodeValue, encodeValue, incrementalState, parseState, toStreamState, type MongodbStreamState } from './state.js';

/** What to ask the server, and how each document read moves the stream's position. */
export interface ReadPlan {
  /** The stream's own filter (from config), without the cursor condition. */
  userFilter: Document;
  filter: Document;
  sort: Array<[string, SortDirection]>;
  projection?: Document;
  /** The state before any document of this run is read. */
  start: MongodbStreamState;
  /** The state once `doc` (and everything sorted before it) is read. */
  after(doc: Document): MongodbStreamState;
  /** The state once the whole query is read. */
  finish(last: MongodbStreamState): MongodbStreamState;
}

/**
 * Decide the query for one stream from its mode, cursor and saved state.
 *
 * Incremental on a field `f` is tie-safe: the position is the pair (f, _id) of
 * the last document read, the query is `f > v OR (f = v AND _id > id)` sorted by
 * `{ f: 1, _id: 1 }`, so documents sharing a cursor value are never skipped nor
 * re-read, wherever a checkpoint or a failure falls. Documents whose `f` is
 * missing or null never match (the server's `$gt` ignores them), so they are
 * left out from the first run on and reported by `read` as a warning.
 *
 * Full refresh pages by `_id` so an interrupted pass resumes, then starts over
 * on the next run.
 */
export function planRead(stream: ConfiguredStream<MongodbStreamConfig>, saved: MongodbStreamState | undefined, warn: (m: string) => void): ReadPlan {
  const cfg = stream.config;
  // Canonical mode keeps `{"$numberLong": "9007199254740993"}` exact instead of rounding it to a double.
  const userFilter: Document = cfg.filter ? BSON.EJSON.deserialize(cfg.filter, { relaxed: false }) : {};
  const withUser = (extra: Document | undefined): Document =>
    !extra ? userFilter : Object.keys(userFilter).length ? { $and: [userFilter, extra] } : extra;

  if (stream.mode === 'full_refresh') {
    if (saved && saved.kind !== 'full_refresh') warn(`stream ${stream.name}: saved state is from incremental mode; starting a full pass`);
    const resume = saved?.kind === 'full_refresh' && !saved.done && saved.after ? saved.after : undefined;
    return {
      userFilter,
      filter: withUser(resume ? { _id: { $gt: decodeValue(resume) } } : undefined),
      sort: [['_id', 1]],
      projection: projectionFor(stream, undefined),
      start: resume ? { kind: 'full_refresh', after: resume } : { kind: 'full_refresh' },
      after: (doc) => ({ kind: 'full_refresh', after: encodeValue(doc._id) }),
      finish: () => ({ kind: 'full_refresh', done: true }),
    };
  }

  const field = stream.cursorField;
  if (!field) {
    throw new ConfigError(
      `incremental mode needs a cursor: a field that grows on every insert or update (a Date such as updatedAt), or _id for append-only collections; or set mode: full_refresh`,
      { stream: stream.name },
    );
  }
  let resume = saved?.kind === 'incremental' ? saved.after : undefined;
  if (saved?.kind === 'incremental' && saved.cursorField !== field) {
    warn(`stream ${stream.name}: saved state is for cursor "${saved.cursorField}", the stream now uses "${field}"; reading from the beginning`);
    resume = undefined;
  } else if (saved?.kind === 'full_refresh') {
    warn(`stream ${stream.name}: saved state is from full_refresh mode; reading from the beginning`);
  }
  const start: MongodbStreamState = resume ? { kind: 'incremental', cursorField: field, after: resume } : { kind: 'incremental', cursorField: field };
  const base = { userFilter, projection: projectionFor(stream, field), start, finish: (last: MongodbStreamState) => last };

  if (field === '_id') {
    return {
      ...base,
      filter: withUser(resume ? { _id: { $gt: decodeValue(resume.value) } } : undefined),
      sort: [['_id', 1]],
      after: (doc) => incrementalState('_id', doc._id),
    };
  }
  let cursorFilter: Document;
  if (!resume) cursorFilter = { [field]: { $ne: null } };
  else if (resume.id) {
    const v = decodeValue(resume.value);
    cursorFilter = { $or: [{ [field]: { $gt: v } }, { [field]: v, _id: { $gt: decodeValue(resume.id) } }] };
  } else {
    // A hand-written state without an _id: re-read the tie rather than risk skipping it.
    cursorFilter = { [field]: { $gte: decodeValue(resume.value) } };
  }
  return {
    ...base,
    filter: withUser(cursorFilter),
    sort: [
      [field, 1],
      ['_id', 1],
    ],
    after: (doc) => {
      const value = valueAt(doc, field);
      // The server reaches `a.b` through arrays and matches any element; a position needs one value.
      if (value === undefined || value === null || Array.isArray(value)) {
        throw new ConfigError(`cursor "${field}" must hold a single value in every document, but document _id=${JSON.stringify(toPlain(doc._id))} has none or an array`, {
          stream: stream.name,
        });
      }
      return incrementalState(field, value, doc._id);
    },
  };
}

/**
 * The projection sent to the server. The connector needs `_id` and the cursor
 * field of every document to know where it is: an inclusion projection gets
 * them added, an exclusion projection may not drop them.
 */
export function projectionFor(stream: ConfiguredStream<MongodbStreamConfig>, cursorField: string | undefined): Document | undefined {
  const p = stream.config.projection;
  if (!p || !Object.keys(p).length) return undefined;
  const keeps = (v: 0 | 1 | boolean) => v === 1 || v === true;
  const covers = (key: string, path: string) => path === key || path.startsWith(`${key}.`);
  const needed = cursorField && cursorField !== '_id' ? [cursorField] : [];
  const refuse = (what: string) =>
    new ConfigError(`config.projection drops ${what}, which the connector needs to know where it is; remove it from the projection`, { stream: stream.name });
  if (p._id !== undefined && !keeps(p._id)) throw refuse('_id');
  const inclusion = Object.entries(p).some(([k, v]) => k !== '_id' && keeps(v));
  const out: Document = { ...p };
  for (const path of needed) {
    if (inclusion) {
      if (!Object.entries(p).some(([k, v]) => keeps(v) && covers(k, path))) out[path] = 1;
    } else if (Object.entries(p).some(([k, v]) => !keeps(v) && covers(k, path))) {
      throw refuse(`the cursor field "${path}"`);
    }
  }
  return out;
}

export interface ReadStreamArgs {
  client: MongoClient;
  ctx: ConnectorContext<MongodbConfig>;
  stream: ConfiguredStream;
  saved: StreamState | undefined;
  server: ServerIdentity;
}

/** Read one stream: records in cursor order, a state every `checkpointEvery` documents, a final state. */
export async function* readStream({ client, ctx, stream: raw, saved, server }: ReadStreamArgs): AsyncGenerator<SourceMessage> {
  const stream = parseStream(raw);
  const parsedState = parseState(saved);
  if (!parsedState.ok) {
    throw new ConfigError(`saved state is not a mongodb connector state (${parsedState.reason}); reset the stream's state to read from the beginning`, {
      sync: ctx.name,
      stream: stream.name,
    });
  }
  const plan = planRead(stream, parsedState.state, (m) => ctx.logger.warn(m));
  const { database, checkpointEvery, batchSize } = ctx.config;
  const collectionName = stream.config.collection;
  const collection = client.db(database).collection(collectionName);
  const where = { sync: ctx.name, stream: stream.name, database, collection: collectionName };

  if (stream.mode === 'incremental' && stream.cursorField && stream.cursorField !== '_id') {
    const missing = await collection
      .findOne(Object.keys(plan.userFilter).length ? { $and: [plan.userFilter, { [stream.cursorField]: null }] } : { [stream.cursorField]: null }, {
        projection: { _id: 1 },
      })
      .catch((err: unknown) => {
        throw readError(err, server, where);
      });
    if (missing) {
      ctx.logger.warn(
        `stream ${stream.name}: documents without "${stream.cursorField}" are not read in incremental mode; set the field on them or use full_refresh`,
        { collection: collectionName, example_id: JSON.stringify(toPlain(missing._id)) },
      );
      ctx.metrics.count('mongodb.documents_without_cursor', 1, { stream: stream.name });
    }
  }

  // allowDiskUse: without an index on the sort keys, servers before 6.0 refuse sorts over 100 MB instead of spilling to disk.
  const cursor = collection.find(plan.filter, { sort: plan.sort, projection: plan.projection, batchSize, allowDiskUse: true });
  let state = plan.start;
  let sinceCheckpoint = 0;
  try {
    for (;;) {
      if (ctx.signal.aborted) {
        yield { type: 'state', stream: stream.name, state: toStreamState(state) };
        return;
      }
      let doc: Document | null;
      try {
        doc = await cursor.next();
      } catch (err) {
        throw readError(err, server, where);
      }
      if (!doc) break;
      const id = toPlain(doc._id);
      yield { type: 'record', stream: stream.name, data: toPlainDocument(doc), origin: `${collectionName} _id=${typeof id === 'string' ? id : JSON.stringify(id)}` };
      state = plan.after(doc);
      if (++sinceCheckpoint >= checkpointEvery) {
        sinceCheckpoint = 0;
        yield { type: 'state', stream: stream.name, state: toStreamState(state) };
      }
    }
  } finally {
    await cursor.close().catch(() => undefined);
  }
  yield { type: 'state', stream: stream.name, state: toStreamState(plan.finish(state)) };
}

/** The engine validated the stream config already; a direct caller (a test, a script) gets the same check. */
function parseStream(stream: ConfiguredStream): ConfiguredStream<MongodbStreamConfig> {
  const parsed = mongodbStreamSchema.safeParse(stream.config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`config.${issue.path.join('.')}: ${issue.message}`, { stream: stream.name });
  }
  return { ...stream, config: parsed.data };
}
