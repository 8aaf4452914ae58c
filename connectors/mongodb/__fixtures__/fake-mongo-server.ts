/**
 * A small in-process MongoDB server for tests: TCP on 127.0.0.1 (random port),
 * the real wire protocol (OP_MSG, plus the legacy OP_QUERY handshake), an
 * in-memory store with real query semantics (see query-engine.ts), server-side
 * cursors, SCRAM-SHA-256 logins, and hooks to break connections on purpose.
 *
 * Commands: hello / isMaster, ping, buildInfo, saslStart, saslContinue,
 * listCollections, find, getMore, killCursors, insert, update, delete
 * (fake-mongo-writes.ts), create, drop, dropDatabase, endSessions. Anything else gets `CommandNotFound` (code 59),
 * like a real server.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { BSON, Long, ObjectId, type Document } from 'bson';
import { CommandError, compareValues, matches, project, sortDocuments } from './query-engine.js';
import { ScramServer, SCRAM_MECHANISM } from './scram.js';
import { deleteCommand, updateCommand, type WriteRejection } from './fake-mongo-writes.js';
import { DESERIALIZE_OPTIONS, encodeReply, MessageSplitter, parseRequest, type Request } from './wire-protocol.js';

export interface FakeMongoServerOptions {
  /** user name -> password. When set, data commands need a SCRAM-SHA-256 login (authSource admin). */
  users?: Record<string, string>;
}

/** One command as the server received it, for tests that check what the connector asked. */
export interface LoggedCommand {
  name: string;
  /** 2013 (OP_MSG) or 2004 (legacy OP_QUERY, the driver's first handshake). */
  opCode: number;
  db: string;
  command: Document;
}

interface Connection {
  id: number;
  socket: Socket;
  user?: string;
}

interface ServerCursor {
  ns: string;
  docs: Document[];
  pos: number;
}

/** Commands a client may send before logging in, as on a real server. */
const OPEN_COMMANDS = new Set(['hello', 'ismaster', 'ping', 'buildinfo', 'saslstart', 'saslcontinue', 'endsessions']);

const DEFAULT_FIRST_BATCH = 101;

function num(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && 'valueOf' in v) return Number(v.valueOf());
  return fallback;
}

export class FakeMongoServer {
  /** Every command received, in order. */
  readonly log: LoggedCommand[] = [];
  private readonly dbs = new Map<string, Map<string, Document[]>>();
  private readonly cursors = new Map<string, ServerCursor>();
  private readonly connections = new Set<Connection>();
  private readonly scram: ScramServer;
  private readonly requireAuth: boolean;
  private nextConnectionId = 1;
  private nextCursorId = 7_000_000_001n;
  private dropRule: { command: string; skip: number } | undefined;
  private rejection: WriteRejection | undefined;

  private constructor(
    private readonly server: Server,
    options: FakeMongoServerOptions,
  ) {
    const users = new Map(Object.entries(options.users ?? {}));
    this.scram = new ScramServer(users);
    this.requireAuth = users.size > 0;
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: FakeMongoServerOptions = {}): Promise<FakeMongoServer> {
    const fake = new FakeMongoServer(createServer(), options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('server is not listening');
    return addr.port;
  }

  /** A connection string for this server, with credentials if given. */
  url(credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
    return `mongodb://${auth}127.0.0.1:${this.port}/?directConnection=true`;
  }

  /** Store documents directly (as a real server would after an insert), `_id` added when missing. */
  insert(db: string, collection: string, docs: Document[]): void {
    const reply = this.insertCommand(db, { insert: collection, documents: docs.map(normalize) });
    if (reply.writeErrors) throw new Error(`insert failed: ${JSON.stringify(reply.writeErrors)}`);
  }

  /** Replace the document whose `_id` equals `id` (an update as the server stores it). */
  replace(db: string, collection: string, doc: Document): void {
    const stored = this.collection(db, collection, false);
    const copy = normalize(doc);
    const i = stored?.findIndex((d) => compareValues(d._id, copy._id) === 0) ?? -1;
    if (!stored || i < 0) throw new Error(`no document with _id ${String(copy._id)} in ${db}.${collection}`);
    stored[i] = copy;
  }

  /** The stored documents of a collection, in insertion order. */
  documents(db: string, collection: string): Document[] {
    return [...(this.collection(db, collection, false) ?? [])];
  }

  /** Close every client connection now, as a network failure would. Cursors survive, as on a real server. */
  dropAllConnections(): void {
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
  }

  /** Drop every connection and forget every cursor, as a server restart (or failover) does. Data is kept. */
  restart(): void {
    this.dropAllConnections();
    this.cursors.clear();
  }

  /** When the (skip+1)-th `command` arrives, close every connection instead of answering it. */
  dropConnectionsOn(command: string, options: { skip?: number } = {}): void {
    this.dropRule = { command: command.toLowerCase(), skip: options.skip ?? 0 };
  }

  /** Refuse updated or upserted documents matching `rule.when` with a per-statement write error (as a validator does). */
  rejectWrites(rule: WriteRejection | undefined): void {
    this.rejection = rule;
  }

  async stop(): Promise<void> {
    this.dropAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Commands received with this name (case-insensitive), for assertions. */
  commands(name: string): Document[] {
    return this.log.filter((c) => c.name.toLowerCase() === name.toLowerCase()).map((c) => c.command);
  }

  private accept(socket: Socket): void {
    const conn: Connection = { id: this.nextConnectionId++, socket };
    this.connections.add(conn);
    const splitter = new MessageSplitter();
    socket.on('data', (chunk) => {
      try {
        for (const message of splitter.push(chunk)) this.handle(conn, parseRequest(message));
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => this.connections.delete(conn));
    socket.on('error', () => undefined);
  }

  private handle(conn: Connection, request: Request): void {
    const name = Object.keys(request.command)[0] ?? '';
    this.log.push({ name, opCode: request.opCode, db: request.db, command: request.command });
    const rule = this.dropRule;
    if (rule && rule.command === name.toLowerCase()) {
      if (rule.skip-- <= 0) {
        this.dropRule = undefined;
        this.dropAllConnections();
        return;
      }
    }
    let reply: Document;
    try {
      reply = this.run(conn, name, request);
    } catch (err) {
      reply =
        err instanceof CommandError
          ? { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName }
          : { ok: 0, errmsg: (err as Error).message, code: 1, codeName: 'InternalError' };
    }
    if (!request.noReply && !conn.socket.destroyed) conn.socket.write(encodeReply(request, reply));
  }

  private run(conn: Connection, name: string, { command: cmd, db }: Request): Document {
    const lower = name.toLowerCase();
    if (this.requireAuth && !conn.user && !OPEN_COMMANDS.has(lower)) {
      throw new CommandError(`command ${name} requires authentication`, 13, 'Unauthorized');
    }
    switch (lower) {
      case 'hello':
      case 'ismaster':
        return this.hello(conn, cmd);
      case 'ping':
      case 'endsessions':
        return { ok: 1 };
      case 'buildinfo':
        return { version: '7.0.0', versionArray: [7, 0, 0, 0], gitVersion: 'tributary-fake', bits: 64, maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 };
      case 'saslstart':
        return this.scram.start(cmd);
      case 'saslcontinue': {
        const { user, reply } = this.scram.continue(cmd);
        conn.user = user;
        return reply;
      }
      case 'listcollections':
        return this.listCollections(db, cmd);
      case 'find':
        return this.find(db, cmd);
      case 'getmore':
        return this.getMore(db, cmd);
      case 'killcursors':
        return this.killCursors(cmd);
      case 'insert':
        return this.insertCommand(db, cmd);
      case 'update':
        return updateCommand(this.collection(db, String(cmd.update), true)!, cmd, this.rejection);
      case 'delete':
        return deleteCommand(this.collection(db, String(cmd.delete), true)!, cmd);
      case 'create':
        this.collection(db, String(cmd.create), true);
        return { ok: 1 };
      case 'drop': {
        if (!this.dbs.get(db)?.delete(String(cmd.drop))) throw new CommandError('ns not found', 26, 'NamespaceNotFound');
        return { ok: 1, ns: `${db}.${String(cmd.drop)}` };
      }
      case 'dropdatabase':
        this.dbs.delete(db);
        return { ok: 1, dropped: db };
      default:
        throw new CommandError(`no such command: '${name}'`, 59, 'CommandNotFound');
    }
  }

  private hello(conn: Connection, cmd: Document): Document {
    const reply: Document = {
      helloOk: true,
      isWritablePrimary: true,
      ismaster: true,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: conn.id,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
    // "admin.reader": a real server lists the user's mechanisms so the driver picks SCRAM-SHA-256.
    if (typeof cmd.saslSupportedMechs === 'string') {
      const user = cmd.saslSupportedMechs.slice(cmd.saslSupportedMechs.indexOf('.') + 1);
      if (this.scram.knows(user)) reply.saslSupportedMechs = [SCRAM_MECHANISM];
    }
    return reply;
  }

  private collection(db: string, name: string, create: boolean): Document[] | undefined {
    let collections = this.dbs.get(db);
    if (!collections && create) this.dbs.set(db, (collections = new Map()));
    let docs = collections?.get(name);
    if (!docs && create && collections) collections.set(name, (docs = []));
    return docs;
  }

  private listCollections(db: string, cmd: Document): Document {
    const infos = [...(this.dbs.get(db)?.keys() ?? [])].sort().map((name) => ({
      name,
      type: 'collection',
      options: {},
      info: { readOnly: false },
      idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
    }));
    const filter: Document = cmd.filter ?? {};
    const batch = infos.filter((i) => matches(i, filter)).map((i) => (cmd.nameOnly ? { name: i.name, type: i.type } : i));
    return { cursor: { id: Long.ZERO, ns: `${db}.$cmd.listCollections`, firstBatch: batch }, ok: 1 };
  }

  private find(db: string, cmd: Document): Document {
    const name = String(cmd.find);
    const ns = `${db}.${name}`;
    const all = this.collection(db, name, false) ?? [];
    const filter: Document = cmd.filter ?? {};
    const sorted = sortDocuments(
      all.filter((d) => matches(d, filter)),
      cmd.sort,
    );
    const skip = num(cmd.skip, 0);
    const limit = num(cmd.limit, 0);
    const results = sorted.slice(skip, limit ? skip + Math.abs(limit) : undefined).map((d) => project(d, cmd.projection));
    const singleBatch = Boolean(cmd.singleBatch) || limit < 0;
    const batchSize = num(cmd.batchSize, singleBatch ? results.length : DEFAULT_FIRST_BATCH);
    const firstBatch = results.slice(0, batchSize);
    let id = Long.ZERO;
    if (!singleBatch && results.length > firstBatch.length) {
      id = Long.fromBigInt(this.nextCursorId++);
      this.cursors.set(id.toString(), { ns, docs: results, pos: firstBatch.length });
    }
    return { cursor: { firstBatch, id, ns }, ok: 1 };
  }

  private getMore(db: string, cmd: Document): Document {
    const key = String(cmd.getMore);
    const cursor = this.cursors.get(key);
    const ns = `${db}.${String(cmd.collection)}`;
    if (!cursor || cursor.ns !== ns) throw new CommandError(`cursor id ${key} not found`, 43, 'CursorNotFound');
    const size = num(cmd.batchSize, cursor.docs.length);
    const nextBatch = cursor.docs.slice(cursor.pos, cursor.pos + size);
    cursor.pos += nextBatch.length;
    const done = cursor.pos >= cursor.docs.length;
    if (done) this.cursors.delete(key);
    return { cursor: { nextBatch, id: done ? Long.ZERO : Long.fromString(key), ns }, ok: 1 };
  }

  private killCursors(cmd: Document): Document {
    const ids: unknown[] = Array.isArray(cmd.cursors) ? cmd.cursors : [];
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const raw of ids) {
      const key = String(raw);
      (this.cursors.delete(key) ? killed : notFound).push(Long.fromString(key));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  private insertCommand(db: string, cmd: Document): Document {
    const docs: Document[] = Array.isArray(cmd.documents) ? cmd.documents : [];
    const stored = this.collection(db, String(cmd.insert), true)!;
    const writeErrors: Document[] = [];
    let n = 0;
    for (const [index, raw] of docs.entries()) {
      // Like mongod: `_id` is generated when missing and always stored as the first field.
      const { _id, ...rest } = raw;
      const doc: Document = { _id: _id === undefined ? new ObjectId() : _id, ...rest };
      if (stored.some((d) => compareValues(d._id, doc._id) === 0)) {
        writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${db}.${String(cmd.insert)} index: _id_` });
        if (cmd.ordered !== false) break;
        continue;
      }
      stored.push(doc);
      n++;
    }
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }
}

/** Round-trip through BSON so stored values have exactly the types the wire would give them. */
function normalize(doc: Document): Document {
  return BSON.deserialize(BSON.serialize(doc), DESERIALIZE_OPTIONS);
}
