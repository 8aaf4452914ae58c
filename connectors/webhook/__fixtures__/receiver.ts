import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createRng } from '../../../bench/quality/prng.js';

/** The seeded generator the quality benchmark uses (mulberry32), so fault runs repeat. */
const seededRandom = (seed: number): (() => number) => createRng(seed).next;

/**
 * Random faults, drawn from a seeded generator (mulberry32): the same seed
 * answers the same sequence of requests with the same sequence of faults, so
 * an engine fault test that fails can be replayed. Shares are of all
 * requests, checked in the order listed; their sum must be at most 1.
 *
 * @example
 * const r = await startReceiver({ secret, faults: { seed: 7, throttle: 0.1, error: 0.1, hang: 0.05, drop: 0.05 } });
 */
export interface FaultOptions {
  seed: number;
  /** Share answered 429 with `Retry-After: retryAfterSeconds`. */
  throttle?: number;
  /** Share answered 500. */
  error?: number;
  /** Share never answered: the request is read and the socket left open (until `close`). Pair with a short `timeoutMs`. */
  hang?: number;
  /** Share whose socket is destroyed without an answer (the sender sees a reset). */
  drop?: number;
  /** Retry-After of fault 429s, in seconds. Default 1. */
  retryAfterSeconds?: number;
}

export interface ReceiverOptions {
  /** The whsec_ secret signatures must verify with (checked by the official `standardwebhooks` library). */
  secret: string;
  /** Answer a share of requests with faults; see FaultOptions. Applied after the signature is checked. */
  faults?: FaultOptions;
  /** A header every request must carry with this exact value, else 401 (stands for an API key). */
  requireHeader?: { name: string; value: string };
}

/** A scripted answer for the next request: a status (with headers and body), or no answer at all. */
export type Scripted = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'drop';

/** One request as the receiver saw it, accepted or not. */
export interface AttemptRecord {
  id?: string;
  timestamp?: number;
  signature?: string;
  /** The signature verified and the timestamp was within 5 minutes. */
  verified: boolean;
  /** Why verification failed (the library's message). */
  verifyError?: string;
  headers: IncomingMessage['headers'];
  /** The raw body, as received. */
  body: string;
  /** The status answered, or `hang` / `drop`. */
  answer: number | 'hang' | 'drop';
}

export interface ReceivedBatch {
  type: string;
  version: number;
  id: string;
  destination: string;
  count: number;
  items: Array<{ type: string; key: string; profileId: string; [k: string]: unknown }>;
}

/**
 * A Standard Webhooks receiver on 127.0.0.1 (a random port), written as a
 * consumer would: verifies each request with the official library (signature
 * and a 5-minute timestamp tolerance, 401 if either fails), treats a
 * `webhook-id` it already processed as a replay (200, counted in `duplicates`,
 * not applied again), and otherwise applies the batch: upserts set
 * `held[profileId]`, merged and deleted profiles are removed, events appended.
 */
export interface Receiver {
  readonly url: string;
  /** What the receiver holds now, keyed by profile id (upsert data). */
  readonly held: Map<string, unknown>;
  /** Accepted batches, in order. */
  readonly deliveries: ReceivedBatch[];
  /** Every request, in order. */
  readonly attempts: AttemptRecord[];
  /** Event items accepted, in order. */
  readonly events: ReceivedBatch['items'];
  /** Verified requests whose webhook-id was already processed. */
  duplicates: number;
  /** How accepted requests are answered (default 200 application/json {"ok":true}). */
  okAnswer: { status: number; contentType: string; body: string };
  /** Answer the next requests with these, one each, before any other handling but verification. */
  failNext(...answers: Scripted[]): void;
  close(): Promise<void>;
}


function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const verifier = new Webhook(opts.secret);
  const random = opts.faults ? seededRandom(opts.faults.seed) : undefined;
  const script: Scripted[] = [];
  const seen = new Set<string>();

  const drawFault = (): Scripted | undefined => {
    if (!random || !opts.faults) return undefined;
    const f = opts.faults;
    let r = random();
    const pick: Array<[number | undefined, Scripted]> = [
      [f.throttle, { status: 429, headers: { 'retry-after': String(f.retryAfterSeconds ?? 1) }, body: 'slow down' }],
      [f.error, { status: 500, body: 'internal error' }],
      [f.hang, 'hang'],
      [f.drop, 'drop'],
    ];
    for (const [share, answer] of pick) {
      if (share && r < share) return answer;
      r -= share ?? 0;
    }
    return undefined;
  };

  const receiver: Receiver = {
    url: '',
    held: new Map(),
    deliveries: [],
    attempts: [],
    events: [],
    duplicates: 0,
    okAnswer: { status: 200, contentType: 'application/json', body: '{"ok":true}' },
    failNext: (...answers) => void script.push(...answers),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const id = header(req, 'webhook-id');
    const ts = header(req, 'webhook-timestamp');
    const rec: AttemptRecord = { id, timestamp: ts === undefined ? undefined : Number(ts), signature: header(req, 'webhook-signature'), verified: false, headers: req.headers, body: raw.toString('utf8'), answer: 0 };
    receiver.attempts.push(rec);
    let batch: ReceivedBatch | undefined;
    try {
      batch = verifier.verify(raw, { 'webhook-id': id ?? '', 'webhook-timestamp': ts ?? '', 'webhook-signature': rec.signature ?? '' }) as ReceivedBatch;
      rec.verified = true;
    } catch (err) {
      rec.verifyError = (err as Error).message;
    }
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      rec.answer = status;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    };
    const scripted = script.shift() ?? drawFault();
    if (scripted === 'hang') {
      rec.answer = 'hang';
      return;
    }
    if (scripted === 'drop') {
      rec.answer = 'drop';
      req.socket.destroy();
      return;
    }
    if (scripted) return answer(scripted.status, scripted.body ?? '', scripted.headers);
    if (opts.requireHeader && header(req, opts.requireHeader.name.toLowerCase()) !== opts.requireHeader.value) return answer(401, 'missing or wrong credentials');
    if (!rec.verified || !batch || !id) return answer(401, `signature rejected: ${rec.verifyError ?? 'no body'}`);
    if (seen.has(id)) {
      receiver.duplicates++;
      return answer(receiver.okAnswer.status, receiver.okAnswer.body, { 'content-type': receiver.okAnswer.contentType });
    }
    seen.add(id);
    receiver.deliveries.push(batch);
    for (const item of batch.items) {
      if (item.type === 'profile.upserted') receiver.held.set(item.profileId, item.data);
      else if (item.type === 'profile.merged' || item.type === 'profile.deleted') receiver.held.delete(item.profileId);
      else if (item.type === 'event') receiver.events.push(item);
    }
    answer(receiver.okAnswer.status, receiver.okAnswer.body, { 'content-type': receiver.okAnswer.contentType });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/hooks/tributary` });
}
