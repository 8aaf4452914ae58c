/**
 * Framing of the MongoDB wire protocol, server side: split a TCP byte stream
 * into messages, read OP_MSG (2013) and legacy OP_QUERY (2004) requests, write
 * OP_MSG and OP_REPLY (1) responses. Every message starts with a 16-byte header:
 * int32 messageLength, requestID, responseTo, opCode (little endian).
 */
import { BSON, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;

/** How stored documents are decoded: keep every BSON type as it was sent (Int32 stays Int32, Long stays Long). */
export const DESERIALIZE_OPTIONS = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

export interface Request {
  requestId: number;
  opCode: number;
  /** The command document; for OP_MSG, document sequences (kind 1 sections) are merged in under their identifier. */
  command: Document;
  /** The database the command runs against (`$db`, or the OP_QUERY namespace). */
  db: string;
  /** OP_MSG moreToCome: the client expects no reply. */
  noReply: boolean;
}

/** Accumulates bytes and yields whole messages. */
export class MessageSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32LE(0);
      if (size < 16) throw new Error(`invalid message length ${size}`);
      if (this.pending.length < size) break;
      out.push(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
    }
    return out;
  }
}

function readCString(buf: Buffer, at: number): { value: string; next: number } {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error('unterminated cstring');
  return { value: buf.toString('utf8', at, end), next: end + 1 };
}

function readDocument(buf: Buffer, at: number): { doc: Document; next: number } {
  const size = buf.readInt32LE(at);
  return { doc: BSON.deserialize(buf.subarray(at, at + size), DESERIALIZE_OPTIONS), next: at + size };
}

export function parseRequest(message: Buffer): Request {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(16);
    const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    let at = 20;
    let command: Document | undefined;
    const sequences: Array<[string, Document[]]> = [];
    while (at < end) {
      const kind = message.readUInt8(at);
      at += 1;
      if (kind === 0) {
        const r = readDocument(message, at);
        command = r.doc;
        at = r.next;
      } else if (kind === 1) {
        const sectionEnd = at + message.readInt32LE(at);
        const id = readCString(message, at + 4);
        const docs: Document[] = [];
        for (let p = id.next; p < sectionEnd; ) {
          const r = readDocument(message, p);
          docs.push(r.doc);
          p = r.next;
        }
        sequences.push([id.value, docs]);
        at = sectionEnd;
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!command) throw new Error('OP_MSG without a body section');
    for (const [id, docs] of sequences) command[id] = docs;
    return { requestId, opCode, command, db: String(command.$db ?? 'admin'), noReply: Boolean(flags & MORE_TO_COME) };
  }
  if (opCode === OP_QUERY) {
    // int32 flags, cstring fullCollectionName, int32 numberToSkip, int32 numberToReturn, document query
    const ns = readCString(message, 20);
    const { doc } = readDocument(message, ns.next + 8);
    const command = doc.$query && typeof doc.$query === 'object' ? doc.$query : doc;
    return { requestId, opCode, command, db: ns.value.split('.')[0], noReply: false };
  }
  throw new Error(`unsupported opCode ${opCode}${opCode === OP_COMPRESSED ? ' (compression was not negotiated)' : ''}`);
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextResponseId++, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** A reply in the protocol the request came in: OP_MSG for OP_MSG, OP_REPLY for a legacy OP_QUERY handshake. */
export function encodeReply(request: Request, reply: Document): Buffer {
  const body = Buffer.from(BSON.serialize(reply));
  if (request.opCode === OP_MSG) {
    const flagsAndKind = Buffer.alloc(5); // flagBits 0, section kind 0
    return Buffer.concat([header(16 + 5 + body.length, request.requestId, OP_MSG), flagsAndKind, body]);
  }
  // int32 responseFlags, int64 cursorID, int32 startingFrom, int32 numberReturned
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(16 + 20 + body.length, request.requestId, OP_REPLY), fields, body]);
}
