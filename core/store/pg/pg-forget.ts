import { randomBytes } from 'node:crypto';
import type { CanonicalRecord } from '../../schema/canonical.js';
import { parseIdentifierKey } from '../../schema/canonical.js';
import { suppressionHash } from '../../privacy/suppression.js';
import type { ForgetCounts, ForgetInput, ForgetResult, PrivacyOutcome } from '../../privacy/forget-types.js';
import type { PgConn } from './pg-conn.js';
import { changed, existingTables } from './pg-sql.js';
import { fromPgKey, toPgKeys } from './pg-keys.js';

/**
 * The forget's transaction (port of sqlite-forget.ts `forgetInTransaction`): the
 * same tables, the same counts, set-wise statements (`= ANY($1::text[])`) instead
 * of one statement per id. Identifier keys are stored escaped (pg-keys.ts).
 *
 * Concurrency. SQLite serialises a forget with every batch through its write
 * lock. Here the forget takes the store's resolve lock, the advisory lock every
 * batch's `exclusive` transaction (read the graph, check suppressions, resolve,
 * commit) and a rebuild hold: a batch that started before the forget commits
 * first and the forget then deletes what it wrote; a batch that starts after
 * waits, and its suppression check sees the forget's suppressions.
 */
/** Must stay equal to PgStore's LOCK_RESOLVE (pg-store.ts): the key is this plus the schema. */
export const LOCK_RESOLVE_PREFIX = 'tributary:resolve:';

/** Take the store's resolve lock (exclusive, to the end of the transaction), as PgStore.exclusive does. */
export async function lockResolve(conn: PgConn): Promise<void> {
  await conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))', [LOCK_RESOLVE_PREFIX]);
}

/** Values shorter than this are not searched for in dead letters: they would match unrelated payloads. */
export const MIN_SEARCH_LENGTH = 5;

/** Tables of other concerns (delivery, consent, inbox, blocking) the forget deletes from when the store has them. */
export const FORGET_OTHER_TABLES = ['delivered', 'delivery_failures', 'event_retry', 'destinations', 'consent_statements', 'inbox', 'blocking_keys', 'probabilistic_links'];

/** Every table a forget may leave dead tuples of the person in (VACUUMed after it commits). */
export const FORGET_TOUCHED_TABLES = [
  'records', 'identifiers', 'profiles', 'presented', 'aliases', 'merges', 'refused', 'outbox', 'dead_letters', 'runs', 'forget_deletes',
  ...FORGET_OTHER_TABLES,
];

/** The per-store salt of the suppression hashes, created on first use and kept in `meta`. */
export async function suppressionSalt(conn: PgConn): Promise<string> {
  await conn.q("INSERT INTO meta(key, value) VALUES ('suppression_salt', $1) ON CONFLICT (key) DO NOTHING", [randomBytes(32).toString('hex')]);
  const rows = await conn.q<{ value: string }>("SELECT value FROM meta WHERE key = 'suppression_salt'");
  return rows[0].value;
}

/** Position-ordered `ANY` over a text array: rows come back grouped in the order the ids were given. */
const byPosition = (col: string) => `array_position($1::text[], ${col})`;

export async function forgetInTransaction(conn: PgConn, input: ForgetInput, at: string): Promise<Omit<ForgetResult, 'walTruncated'>> {
  await lockResolve(conn);
  const has = await existingTables(conn, FORGET_OTHER_TABLES);
  const counts: ForgetCounts = {};
  const add = (table: string, n: number) => {
    if (n) counts[table] = (counts[table] ?? 0) + n;
  };
  const del = async (table: string, where: string, values: unknown[]) => {
    if (FORGET_OTHER_TABLES.includes(table) && !has.has(table)) return;
    add(table, await changed(conn, `DELETE FROM ${table} WHERE ${where} RETURNING 1`, values));
  };

  // Resolved again inside the transaction (after the lock): a batch may have merged a profile away, or stored the person anew.
  const aliasOf = new Map(
    (await conn.q<{ alias: string; profile_id: string }>('SELECT alias, profile_id FROM aliases WHERE alias = ANY($1::text[])', [input.profileIds])).map((r) => [r.alias, r.profile_id]),
  );
  const ids = [...new Set(input.profileIds.map((id) => aliasOf.get(id) ?? id))];
  if (input.kind === 'forget' && input.suppressKeys.length) {
    const owners = new Map(
      (await conn.q<{ key: string; profile_id: string }>('SELECT key, profile_id FROM identifiers WHERE key = ANY($1::text[])', [toPgKeys(input.suppressKeys)])).map((r) => [fromPgKey(r.key), r.profile_id]),
    );
    for (const k of input.suppressKeys) {
      const owner = owners.get(k);
      if (owner && !ids.includes(owner)) ids.push(owner);
    }
  }
  // Absorbed ids that now point at these profiles: destinations may still hold them under that id.
  const absorbed = (
    await conn.q<{ alias: string }>(`SELECT alias FROM aliases WHERE profile_id = ANY($1::text[]) ORDER BY ${byPosition('profile_id')}, alias COLLATE "C"`, [ids])
  ).map((r) => r.alias);
  const allIds = [...new Set([...ids, ...absorbed])];
  const keys = new Set<string>(input.suppressKeys);
  for (const r of await conn.q<{ key: string }>(`SELECT key FROM identifiers WHERE profile_id = ANY($1::text[]) ORDER BY ${byPosition('profile_id')}, key COLLATE "C"`, [ids])) keys.add(fromPgKey(r.key));
  // What to look for in dead letters and error texts: every identifier value, as stored and as the source wrote it.
  const values = new Set<string>();
  for (const k of keys) values.add(parseIdentifierKey(k).value);
  const recordKeys: string[] = [];
  for (const r of await conn.q<{ key: string; body: string }>('SELECT key, body FROM records WHERE profile_id = ANY($1::text[]) ORDER BY seq', [ids])) {
    recordKeys.push(r.key);
    const body = JSON.parse(r.body) as CanonicalRecord;
    for (const i of body.identifiers) {
      values.add(i.value);
      if (i.raw) values.add(String(i.raw).trim());
    }
  }
  const search = [...values].filter((v) => v.length >= MIN_SEARCH_LENGTH);
  const lowered = search.map((v) => v.toLowerCase());

  const [{ id: requestId }] = await conn.q<{ id: string }>(
    "INSERT INTO privacy_requests(kind, at, reason, outcome, counts) VALUES ($1, $2, $3, 'pending', '{}') RETURNING id",
    [input.kind, at, input.reason ?? null],
  );
  const request = Number(requestId);

  // Destinations that hold the person: a delete to send, addressed by what they acknowledged.
  const deletes: ForgetResult['deletes'] = [];
  if (input.kind === 'forget') {
    if (has.has('delivered')) {
      const held = await conn.q<{ destination: string; profile_id: string; ref: string }>(
        `SELECT destination, profile_id, ref FROM delivered WHERE profile_id = ANY($1::text[]) ORDER BY ${byPosition('profile_id')}, destination COLLATE "C"`,
        [allIds],
      );
      if (held.length) {
        await conn.q(
          `INSERT INTO forget_deletes(request_id, destination, profile_id, ref, status, updated_at)
           SELECT $1, d, p, r, 'pending', $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS u(d, p, r)
           ON CONFLICT DO NOTHING`,
          [request, held.map((h) => h.destination), held.map((h) => h.profile_id), held.map((h) => h.ref), at],
        );
      }
      for (const h of held) deletes.push({ destination: h.destination, profileId: h.profile_id });
    }
    await del('delivered', 'profile_id = ANY($1::text[])', [allIds]);
    await del('outbox', 'profile_id = ANY($1::text[])', [allIds]);
    await del('delivery_failures', 'item = ANY($1::text[])', [allIds]);
    await del('dead_letters', 'record_id = ANY($1::text[])', [allIds]);
    await del('merges', 'survivor = ANY($1::text[]) OR absorbed = ANY($1::text[])', [allIds]);
    // `profiles` is a JSON array of ids: the quoted id inside it, as SQLite's instr does.
    await del('refused', 'EXISTS (SELECT 1 FROM unnest($1::text[]) AS p WHERE strpos(refused.profiles, p) > 0)', [allIds.map((id) => JSON.stringify(id))]);
    await del('presented', 'profile_id = ANY($1::text[])', [allIds]);
    await del('aliases', 'profile_id = ANY($1::text[]) OR alias = ANY($1::text[])', [allIds]);

    await del('refused', 'record_key = ANY($1::text[])', [recordKeys]);
    await del('event_retry', 'record_key = ANY($1::text[])', [recordKeys]);
    await del('consent_statements', 'record_key = ANY($1::text[])', [recordKeys]);
    // Blocking keys are derived from the person's traits (a date of birth, a surname code): they go too.
    await del('blocking_keys', 'record_key = ANY($1::text[])', [recordKeys]);
    await del('probabilistic_links', 'record_key = ANY($1::text[]) OR other_record_key = ANY($1::text[])', [recordKeys]);
    await del('delivery_failures', 'item = ANY($1::text[])', [recordKeys]);
    await del('dead_letters', 'record_id = ANY($1::text[])', [recordKeys]);

    // Another profile's refused claim on the person's address names the address.
    await del('presented', 'identifier_key = ANY($1::text[])', [toPgKeys([...keys])]);
    await del('refused', 'identifier_key = ANY($1::text[])', [toPgKeys([...keys])]);

    // Field warnings live in the record bodies, computed traits and aggregates in the profile body.
    await del('records', 'profile_id = ANY($1::text[])', [ids]);
    await del('identifiers', 'profile_id = ANY($1::text[])', [ids]);
    await del('profiles', 'id = ANY($1::text[])', [ids]);
    // Pushed events (`serve`) not yet drained that name the person.
    await del('inbox', 'EXISTS (SELECT 1 FROM unnest($1::text[]) AS v WHERE strpos(lower(inbox.body), v) > 0)', [lowered]);
  }
  // Dead letters carry raw payloads (a row that failed mapping, a refused upsert): search them for the person.
  await del('dead_letters', 'EXISTS (SELECT 1 FROM unnest($1::text[]) AS v WHERE strpos(lower(dead_letters.payload), v) > 0)', [lowered]);
  for (const v of search) {
    add('run_errors_scrubbed', await changed(conn, "UPDATE runs SET error = replace(error, $1, '[forgotten]') WHERE strpos(error, $1) > 0 RETURNING 1", [v]));
    if (has.has('destinations')) await conn.q("UPDATE destinations SET last_run = replace(last_run, $1, '[forgotten]') WHERE strpos(last_run, $1) > 0", [v]);
  }

  const salt = await suppressionSalt(conn);
  const list = [...keys];
  const suppressed = list.length
    ? await changed(
        conn,
        `INSERT INTO suppressions(hash, type, request_id, at) SELECT h, t, $3, $4 FROM unnest($1::text[], $2::text[]) AS u(h, t)
         ON CONFLICT (hash) DO NOTHING RETURNING 1`,
        [list.map((k) => suppressionHash(salt, k)), list.map((k) => parseIdentifierKey(k).type), request, at],
      )
    : 0;

  const outcome: PrivacyOutcome = deletes.length ? 'pending' : input.kind === 'forget' && !ids.length ? 'nothing held' : 'completed';
  await conn.q('UPDATE privacy_requests SET outcome = $1, counts = $2, finished_at = $3 WHERE id = $4', [
    outcome,
    JSON.stringify({ ...counts, suppressed, destinations: deletes.length }),
    outcome === 'pending' ? null : at,
    request,
  ]);
  return { requestId: request, counts, suppressed, deletes };
}

/**
 * What PostgreSQL has in place of SQLite's secure_delete and WAL truncation:
 * nothing that overwrites bytes. A deleted row stays in its page as a dead tuple
 * until VACUUM prunes it (and its index entries), and a pruned page's free space
 * keeps old bytes until a new row is written there; the WAL holds the row until
 * its segment is recycled, and WAL archives, base backups and replicas keep
 * their copies. So after the forget commits, outside its transaction, a plain
 * VACUUM of the tables it touched removes the dead tuples and index entries
 * (VACUUM FULL would rewrite the files, but takes an ACCESS EXCLUSIVE lock that
 * stops every sync, so it is left to the operator). A transaction older than
 * the forget keeps its dead tuples alive past this VACUUM. Returns whether the
 * VACUUM ran (false inside a caller's transaction, where VACUUM cannot run).
 */
export async function vacuumAfterForget(conn: PgConn, tables = FORGET_TOUCHED_TABLES): Promise<boolean> {
  if (conn.inTransaction()) return false;
  const present = [...(await existingTables(conn, tables))];
  if (!present.length) return false;
  try {
    await conn.q(`VACUUM (SKIP_LOCKED) ${present.join(', ')}`);
    return true;
  } catch {
    // Not the tables' owner, or the server refused: the forget itself is committed; the dead tuples go at the next autovacuum.
    return false;
  }
}
