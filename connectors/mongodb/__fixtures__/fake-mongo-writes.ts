/**
 * The write commands of the fake MongoDB server that `bulkWrite` sends:
 * `update` (replacement documents and `$set`, with `upsert`) and `delete`,
 * answering as mongod does (`n`, `nModified`, `upserted`, per-statement
 * `writeErrors` with the statement's index, continuing after an error when
 * `ordered: false`). Written from MongoDB's documented command replies.
 */
import { ObjectId, type Document } from 'bson';
import { CommandError, compareValues, matches } from './query-engine.js';

/** A rule that makes the server refuse some writes, as a collection validator would (code 121). */
export interface WriteRejection {
  /** Refuse a document of `collection` (after the update is applied) when this says so. */
  when(doc: Document, collection: string): boolean;
  code?: number;
  errmsg?: string;
}

function writeError(index: number, code: number, errmsg: string): Document {
  return { index, code, errmsg };
}

/** The `_id` an upsert's new document gets: the replacement's, else the filter's equality on `_id`, else a new ObjectId. */
function upsertId(q: Document, u: Document): unknown {
  if (u._id !== undefined) return u._id;
  const f = q._id;
  if (f !== undefined && (f === null || typeof f !== 'object' || f instanceof ObjectId || !Object.keys(f as object).some((k) => k.startsWith('$')))) return f;
  return new ObjectId();
}

function applyUpdate(existing: Document | undefined, q: Document, u: Document): Document {
  const keys = Object.keys(u);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length && operators.length !== keys.length) throw new CommandError('an update mixes operators and fields', 9, 'FailedToParse');
  const _id = existing?._id ?? upsertId(q, u);
  if (!operators.length) {
    if (existing && u._id !== undefined && compareValues(u._id, existing._id) !== 0) {
      throw new CommandError("After applying the update, the (immutable) field '_id' was found to have been altered", 66, 'ImmutableField');
    }
    const { _id: _ignored, ...rest } = u;
    return { _id, ...rest };
  }
  const doc: Document = existing ? { ...existing } : { _id };
  for (const op of operators) {
    if (op !== '$set') throw new CommandError(`unsupported update operator in the fake server: ${op}`, 9, 'FailedToParse');
    for (const [field, value] of Object.entries(u[op] as Document)) {
      if (field.includes('.')) throw new CommandError('dotted paths are not supported by the fake server', 9, 'FailedToParse');
      doc[field] = value;
    }
  }
  return doc;
}

/** `{ update: <collection>, updates: [{ q, u, upsert, multi }], ordered }` against the stored documents. */
export function updateCommand(stored: Document[], cmd: Document, reject: WriteRejection | undefined): Document {
  const updates: Document[] = Array.isArray(cmd.updates) ? cmd.updates : [];
  const writeErrors: Document[] = [];
  const upserted: Document[] = [];
  let n = 0;
  let nModified = 0;
  for (const [index, statement] of updates.entries()) {
    const q: Document = statement.q ?? {};
    const u: Document = statement.u ?? {};
    try {
      const targets = stored.filter((d) => matches(d, q));
      const chosen = statement.multi ? targets : targets.slice(0, 1);
      if (!chosen.length && !statement.upsert) continue;
      const next = chosen.length ? chosen.map((d) => applyUpdate(d, q, u)) : [applyUpdate(undefined, q, u)];
      const refused = reject && next.find((d) => reject.when(d, String(cmd.update)));
      if (refused) throw new CommandError(reject.errmsg ?? 'Document failed validation', reject.code ?? 121, 'DocumentValidationFailure');
      if (chosen.length) {
        chosen.forEach((d, k) => (stored[stored.indexOf(d)] = next[k]));
        n += chosen.length;
        nModified += chosen.length;
      } else {
        stored.push(next[0]);
        upserted.push({ index, _id: next[0]._id });
        n++;
      }
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      writeErrors.push(writeError(index, err.code, err.message));
      if (cmd.ordered !== false) break;
    }
  }
  const reply: Document = { n, nModified, ok: 1 };
  if (upserted.length) reply.upserted = upserted;
  if (writeErrors.length) reply.writeErrors = writeErrors;
  return reply;
}

/** `{ delete: <collection>, deletes: [{ q, limit }], ordered }`: limit 1 removes the first match, 0 every match. */
export function deleteCommand(stored: Document[], cmd: Document): Document {
  const deletes: Document[] = Array.isArray(cmd.deletes) ? cmd.deletes : [];
  let n = 0;
  for (const statement of deletes) {
    const q: Document = statement.q ?? {};
    const limit = Number(statement.limit ?? 0);
    for (let i = 0; i < stored.length; ) {
      if (matches(stored[i], q)) {
        stored.splice(i, 1);
        n++;
        if (limit === 1) break;
      } else i++;
    }
  }
  return { n, ok: 1 };
}
