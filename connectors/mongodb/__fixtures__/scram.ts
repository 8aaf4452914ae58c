/**
 * Server side of SCRAM-SHA-256 (RFC 5802 / RFC 7677) as MongoDB runs it over
 * `saslStart` / `saslContinue`, so the real driver authenticates against the
 * fake server and a wrong password fails the way it does on a real one.
 * Passwords are kept in clear (it is a test server); ASCII only, so SASLprep is
 * the identity.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { Binary, type Document } from 'bson';
import { CommandError } from './query-engine.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
const ITERATIONS = 4096;

const authFailed = () => new CommandError('Authentication failed.', 18, 'AuthenticationFailed');

interface Conversation {
  user: string;
  password: string;
  salt: Buffer;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

function bytesOf(payload: unknown): Buffer {
  if (payload instanceof Binary) return Buffer.from(payload.value());
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  throw new CommandError('payload must be binary', 2, 'BadValue');
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** One SCRAM exchange per connection; `users` maps user name to password. */
export class ScramServer {
  private readonly conversations = new Map<number, Conversation>();
  private nextId = 1;
  private readonly salts = new Map<string, Buffer>();

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  knows(user: string): boolean {
    return this.users.has(user);
  }

  /** `saslStart`: check the mechanism and user, answer with the server-first message. */
  start(cmd: Document): Document {
    if (cmd.mechanism !== SCRAM_MECHANISM) throw authFailed();
    const clientFirst = bytesOf(cmd.payload).toString('utf8');
    if (!clientFirst.startsWith('n,,')) throw authFailed();
    const clientFirstBare = clientFirst.slice(3);
    const attrs = attributes(clientFirstBare);
    const user = (attrs.get('n') ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
    const password = this.users.get(user);
    const clientNonce = attrs.get('r');
    if (password === undefined || !clientNonce) throw authFailed();
    let salt = this.salts.get(user);
    if (!salt) this.salts.set(user, (salt = randomBytes(16)));
    const nonce = clientNonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
    const id = this.nextId++;
    this.conversations.set(id, { user, password, salt, clientFirstBare, serverFirst, nonce });
    return { conversationId: id, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 };
  }

  /** `saslContinue`: verify the client proof; returns the authenticated user and the reply. */
  continue(cmd: Document): { user: string; reply: Document } {
    const id = Number(cmd.conversationId);
    const conv = this.conversations.get(id);
    this.conversations.delete(id);
    if (!conv) throw new CommandError('No SASL session state found', 17, 'ProtocolError');
    const clientFinal = bytesOf(cmd.payload).toString('utf8');
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw authFailed();
    const withoutProof = clientFinal.slice(0, proofAt);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    if (attributes(withoutProof).get('r') !== conv.nonce) throw authFailed();

    const salted = pbkdf2Sync(conv.password, conv.salt, ITERATIONS, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw authFailed();
    const recoveredKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]));
    const recoveredStored = createHash('sha256').update(recoveredKey).digest();
    if (!timingSafeEqual(recoveredStored, storedKey)) throw authFailed();

    const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return {
      user: conv.user,
      reply: { conversationId: id, done: true, payload: new Binary(Buffer.from(`v=${serverSignature.toString('base64')}`)), ok: 1 },
    };
  }
}
