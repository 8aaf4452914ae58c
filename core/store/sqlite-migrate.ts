import type Database from 'better-sqlite3';
import { ConnectionError } from '../errors.js';
import { MIGRATIONS, SCHEMA_SQL, SCHEMA_VERSION } from './sqlite-schema.js';
import { bumpGraphGeneration } from './graph-cache-session.js';

type Row = Record<string, unknown>;

/**
 * Create a new store at the newest schema, or bring an older one up to it. One
 * write transaction, so two processes opening the same old store migrate it once.
 */
export function migrateStore(db: Database.Database, file: string): void {
  const readVersion = () => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    return hasMeta ? (db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as Row | undefined) : undefined;
  };
  // A current store takes no write lock (CREATE ... IF NOT EXISTS of existing objects is a no-op):
  // `status` opens it while a rebuild holds the lock for minutes.
  if (Number(readVersion()?.value) === SCHEMA_VERSION) {
    db.exec(SCHEMA_SQL);
    return;
  }
  db.transaction(() => {
    const v = readVersion();
    if (!v) {
      db.exec(SCHEMA_SQL);
      db.prepare('INSERT INTO meta(key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
      return;
    }
    const version = Number(v.value);
    if (!Number.isInteger(version) || version > SCHEMA_VERSION) {
      throw new ConnectionError(`store ${file} was written by a newer Tributary (schema ${v.value}; this one knows up to ${SCHEMA_VERSION})`, {}, { retryable: false });
    }
    for (const step of MIGRATIONS) {
      if (step.to <= version) continue;
      if (step.sql) db.exec(step.sql);
      step.run?.(db);
    }
    // Tables added since (CREATE ... IF NOT EXISTS) appear without a step of their own.
    db.exec(SCHEMA_SQL);
    // A migration may rewrite graph rows: no process's graph cache (graph-cache.ts) is still valid.
    bumpGraphGeneration(db);
    if (version < SCHEMA_VERSION) db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(SCHEMA_VERSION), 'schema_version');
  }).immediate();
}
