import type { CanonicalRecord } from '../../schema/canonical.js';
import { suppressionHash } from '../../privacy/suppression.js';
import type {
  DeleteStatus,
  ForgetCounts,
  ForgetDelete,
  ForgetDeleteOutcome,
  ForgetInput,
  ForgetResult,
  PrivacyLedger,
  PrivacyOutcome,
  PrivacyRequest,
  PrivacyRequestKind,
} from '../../privacy/forget-types.js';
import { expiredRecord, scrub } from '../sqlite-forget.js';
import type { PgConn } from './pg-conn.js';
import { MIN_SEARCH_LENGTH, forgetInTransaction, suppressionSalt, vacuumAfterForget } from './pg-forget.js';
import { changed } from './pg-sql.js';
import { toPgKeys } from './pg-keys.js';

export { LOCK_RESOLVE_PREFIX, lockResolve } from './pg-forget.js';

type Row = Record<string, unknown>;

/**
 * Privacy bookkeeping, as sqlite-forget.ts FORGET_SCHEMA_SQL: no address or
 * name in any of these tables (suppressions are salted hashes, requests hold
 * counts, forget_deletes a destination's ref only until the delete is done).
 */
export const PRIVACY_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS suppressions (hash TEXT PRIMARY KEY, type TEXT NOT NULL, request_id BIGINT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS privacy_requests (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL, reason TEXT,
  outcome TEXT NOT NULL, counts TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS forget_deletes (
  request_id BIGINT NOT NULL, destination TEXT NOT NULL, profile_id TEXT NOT NULL, ref TEXT,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (request_id, destination, profile_id)
);
CREATE INDEX IF NOT EXISTS forget_deletes_status ON forget_deletes(destination, status);
`;

/** The PostgreSQL store's PrivacyLedger: the SQLite ledger's behaviour, on `PgConn` (see pg-forget.ts for the forget itself). */
export class PgPrivacyLedger implements PrivacyLedger {
  constructor(private readonly conn: PgConn) {}

  async forget(input: ForgetInput): Promise<ForgetResult> {
    const at = input.at ?? new Date().toISOString();
    const result = await this.conn.tx(() => forgetInTransaction(this.conn, input, at));
    // No WAL file of ours to empty here (see vacuumAfterForget): `walTruncated` is left out, the dead tuples are vacuumed.
    await vacuumAfterForget(this.conn);
    return result;
  }

  async unsuppress(keys: string[], reason?: string, request?: number): Promise<{ requestId: number; removed: number }> {
    const at = new Date().toISOString();
    return this.conn.tx(async () => {
      const salt = await suppressionSalt(this.conn);
      let removed = keys.length
        ? await changed(this.conn, 'DELETE FROM suppressions WHERE hash = ANY($1::text[]) RETURNING 1', [keys.map((k) => suppressionHash(salt, k))])
        : 0;
      if (request !== undefined) removed += await changed(this.conn, 'DELETE FROM suppressions WHERE request_id = $1 RETURNING 1', [request]);
      const [row] = await this.conn.q<{ id: string }>(
        "INSERT INTO privacy_requests(kind, at, reason, outcome, counts, finished_at) VALUES ('unsuppress', $1, $2, 'completed', $3, $1) RETURNING id",
        [at, reason ?? null, JSON.stringify({ unsuppressed: removed })],
      );
      return { requestId: Number(row.id), removed };
    });
  }

  async profilesHolding(keys: string[]): Promise<string[]> {
    if (!keys.length) return [];
    const rows = await this.conn.q<{ profile_id: string }>(
      'SELECT profile_id FROM identifiers WHERE key = ANY($1::text[]) UNION SELECT profile_id FROM presented WHERE identifier_key = ANY($1::text[])',
      [toPgKeys(keys)],
    );
    return rows.map((r) => r.profile_id).sort();
  }

  async subjectHoldings(profileIds: string[], values: string[]) {
    const delivered = (
      await this.conn.q<Row>(
        'SELECT destination, ref, at FROM delivered WHERE profile_id = ANY($1::text[]) ORDER BY array_position($1::text[], profile_id), destination COLLATE "C"',
        [profileIds],
      )
    ).map((r) => ({ destination: r.destination as string, ref: r.ref as string, at: r.at as string }));
    const seen = new Set<number>();
    const deadLetters: unknown[] = [];
    const take = (rows: Row[]) => {
      for (const r of rows) {
        const id = Number(r.id);
        if (seen.has(id)) continue;
        seen.add(id);
        deadLetters.push({ id, sync: r.sync, stream: r.stream, recordId: r.record_id, reason: r.reason, at: r.at, payload: JSON.parse(r.payload as string) });
      }
    };
    // Ids first, then each value, each in insertion order: the order the SQLite ledger lists them in.
    take(await this.conn.q<Row>('SELECT * FROM dead_letters WHERE record_id = ANY($1::text[]) ORDER BY array_position($1::text[], record_id), id', [profileIds]));
    const search = values.filter((x) => x.length >= MIN_SEARCH_LENGTH).map((v) => v.toLowerCase());
    for (const v of search) take(await this.conn.q<Row>('SELECT * FROM dead_letters WHERE strpos(lower(payload), $1) > 0 ORDER BY id', [v]));
    return { delivered, deadLetters };
  }

  async expireTrackRecords(opts: { source: string; stream: string; before: string; maxSeq: number; keepProperties: string[]; dryRun: boolean }): Promise<number> {
    // `::json`, not `::jsonb`: jsonb refuses a \u0000 escape a source may have put in a body; `->>` gives SQL NULL for a JSON null, as json_extract does.
    const where = "source = $1 AND stream = $2 AND kind = 'track' AND observed_at < $3 AND seq <= $4 AND (body::json ->> 'expiredAt') IS NULL";
    const args = [opts.source, opts.stream, opts.before, opts.maxSeq];
    if (opts.dryRun) return Number((await this.conn.q<{ n: string }>(`SELECT count(*) AS n FROM records WHERE ${where}`, args))[0].n);
    const at = new Date().toISOString();
    return this.conn.tx(async () => {
      // FOR UPDATE: a batch re-reading one of these records waits, rather than having its new body overwritten by the old one reduced.
      const rows = await this.conn.q<{ key: string; body: string }>(`SELECT key, body FROM records WHERE ${where} ORDER BY seq FOR UPDATE`, args);
      if (rows.length) {
        await this.conn.q('UPDATE records r SET body = u.body FROM unnest($1::text[], $2::text[]) AS u(key, body) WHERE r.key = u.key', [
          rows.map((r) => r.key),
          rows.map((r) => JSON.stringify(expiredRecord(JSON.parse(r.body) as CanonicalRecord, opts.keepProperties, at))),
        ]);
      }
      return rows.length;
    });
  }

  async hasSuppressions(): Promise<boolean> {
    return (await this.conn.q('SELECT 1 FROM suppressions LIMIT 1')).length > 0;
  }

  async suppressedAmong(keys: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (!keys.length) return out;
    const salt = (await this.conn.q<{ value: string }>("SELECT value FROM meta WHERE key = 'suppression_salt'"))[0]?.value;
    if (!salt) return out;
    const byHash = new Map(keys.map((k) => [suppressionHash(salt, k), k]));
    for (const r of await this.conn.q<{ hash: string }>('SELECT hash FROM suppressions WHERE hash = ANY($1::text[])', [[...byHash.keys()]])) out.add(byHash.get(r.hash)!);
    return out;
  }

  async pendingDeletes(destination: string, limit: number): Promise<ForgetDelete[]> {
    // A delivery that read a profile before it was forgotten and settled after put it back in `delivered`
    // (and at the destination): that row is the person again, so the delete is queued once more.
    const late = await this.conn.q<{ profile_id: string; ref: string; request_id: string }>(
      `SELECT d.profile_id, d.ref, MAX(f.request_id) AS request_id FROM delivered d JOIN forget_deletes f ON f.destination = d.destination AND f.profile_id = d.profile_id
       WHERE d.destination = $1 AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = d.profile_id) GROUP BY d.profile_id, d.ref`,
      [destination],
    );
    if (late.length) {
      const at = new Date().toISOString();
      await this.conn.tx(async () => {
        const [pids, refs, reqs] = [late.map((r) => r.profile_id), late.map((r) => r.ref), late.map((r) => Number(r.request_id))];
        await this.conn.q(
          `UPDATE forget_deletes f SET ref = u.ref, status = 'pending', updated_at = $5 FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(profile_id, ref, request_id)
           WHERE f.destination = $1 AND f.profile_id = u.profile_id AND f.request_id = u.request_id`,
          [destination, pids, refs, reqs, at],
        );
        await this.conn.q("UPDATE privacy_requests SET outcome = 'pending', finished_at = NULL WHERE id = ANY($1::bigint[])", [reqs]);
        await this.conn.q('DELETE FROM delivered WHERE destination = $1 AND profile_id = ANY($2::text[])', [destination, pids]);
      });
    }
    const rows = await this.conn.q<{ request_id: string; profile_id: string; ref: string }>(
      `SELECT request_id, profile_id, ref FROM forget_deletes WHERE destination = $1 AND status = 'pending' ORDER BY request_id, profile_id COLLATE "C" LIMIT $2`,
      [destination, limit],
    );
    return rows.map((r) => ({ requestId: Number(r.request_id), destination, profileId: r.profile_id, ref: r.ref }));
  }

  async settleDeletes(destination: string, outcomes: ForgetDeleteOutcome[]): Promise<void> {
    if (!outcomes.length) return;
    const at = new Date().toISOString();
    const dropped = await this.conn.tx(async () => {
      let n = 0;
      const requests = new Set<number>();
      // One statement per outcome, in order: the same row answered twice in a batch counts two attempts, as in SQLite.
      for (const o of outcomes) {
        requests.add(o.requestId);
        const [row] = await this.conn.q<{ ref: string | null }>('SELECT ref FROM forget_deletes WHERE request_id = $1 AND destination = $2 AND profile_id = $3', [o.requestId, destination, o.profileId]);
        const ref = row?.ref ?? null;
        const error = o.error && ref ? scrub(o.error, refValues(ref)) : o.error;
        // Done: the ref (the only personal data left) goes. Refused or unsupported: it stays, so the record can be deleted by hand.
        const keepRef = o.status !== 'done';
        await this.conn.q(
          `UPDATE forget_deletes SET status = $1, attempts = attempts + 1, error = $2, updated_at = $3${keepRef ? '' : ', ref = NULL'} WHERE request_id = $4 AND destination = $5 AND profile_id = $6`,
          [o.status, error ?? null, at, o.requestId, destination, o.profileId],
        );
        if (!keepRef) n++;
      }
      for (const id of requests) await this.finishRequest(id, at);
      return n;
    });
    // The dropped refs' old row versions are dead tuples: vacuumed, as the SQLite ledger checkpoints its WAL.
    if (dropped) await vacuumAfterForget(this.conn, ['forget_deletes']);
  }

  /** A request whose deletes are all settled gets its outcome. */
  private async finishRequest(id: number, at: string): Promise<void> {
    const statuses = (await this.conn.q<{ status: DeleteStatus }>('SELECT status FROM forget_deletes WHERE request_id = $1', [id])).map((r) => r.status);
    if (statuses.includes('pending')) return;
    const outcome: PrivacyOutcome = statuses.every((s) => s === 'done') ? 'completed' : 'partial';
    await this.conn.q("UPDATE privacy_requests SET outcome = $1, finished_at = $2 WHERE id = $3 AND outcome = 'pending'", [outcome, at, id]);
  }

  async requests(opts: { id?: number; limit: number }): Promise<PrivacyRequest[]> {
    const rows =
      opts.id !== undefined
        ? await this.conn.q<Row>('SELECT * FROM privacy_requests WHERE id = $1', [opts.id])
        : await this.conn.q<Row>('SELECT * FROM privacy_requests ORDER BY id DESC LIMIT $1', [opts.limit]);
    if (!rows.length) return [];
    const dests = await this.conn.q<Row>(
      'SELECT request_id, destination, profile_id, status, attempts, error, updated_at FROM forget_deletes WHERE request_id = ANY($1::bigint[]) ORDER BY destination COLLATE "C", profile_id COLLATE "C"',
      [rows.map((r) => Number(r.id))],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind as PrivacyRequestKind,
      at: r.at as string,
      ...(r.reason ? { reason: r.reason as string } : {}),
      outcome: r.outcome as PrivacyOutcome,
      counts: JSON.parse(r.counts as string) as ForgetCounts,
      ...(r.finished_at ? { finishedAt: r.finished_at as string } : {}),
      destinations: dests
        .filter((d) => Number(d.request_id) === Number(r.id))
        .map((d) => ({
          destination: d.destination as string,
          profileId: d.profile_id as string,
          status: d.status as DeleteStatus,
          attempts: Number(d.attempts),
          ...(d.error ? { error: d.error as string } : {}),
          updatedAt: d.updated_at as string,
        })),
    }));
  }
}

/** A ref and the value inside it (`email:ada@x.org` and `ada@x.org`), to scrub from error texts. */
function refValues(ref: string): string[] {
  const colon = ref.indexOf(':');
  return colon > 0 ? [ref, ref.slice(colon + 1)] : [ref];
}
