import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot, type Booted } from '../core/container.js';
import { captureLogger } from './kit/context.js';
import { server as mysqlServer } from '../connectors/mysql/__fixtures__/seed.js';
import { server as pgServer } from '../connectors/postgres/__fixtures__/seed.js';

// Issue 8, item 13: a login the server refuses is permanent. One attempt, one
// line, no retries; a dropped network is still retried (engine.test.ts).

const opened: Booted[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

async function syncOnce(connector: 'mysql' | 'postgres', config: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), `trib-creds-${process.pid}-`));
  dirs.push(dir);
  const file = join(dir, 'tributary.yaml');
  writeFileSync(
    file,
    stringify({
      store: { sqlite: join(dir, 'store.db') },
      sources: [
        {
          name: 'shop',
          connector,
          retry: { attempts: 5, initialDelayMs: 200, maxDelayMs: 200 },
          config,
          streams: [{ name: 'customers', primaryKey: 'id', cursor: 'updated_at', config: { table: 'customers' }, mapping: { identifiers: { email: 'email' } } }],
        },
      ],
    }),
  );
  const logger = captureLogger();
  const b = await boot({ configFile: file, logger });
  opened.push(b);
  const out = await b.engine.runSync('shop');
  const retries = logger.entries.filter((e) => /retrying in/.test(e.message));
  const [run] = await b.store.recentRuns(1);
  return { out, retries, run };
}

describe('refused logins are not retried', () => {
  it('MariaDB: access denied for an unknown user fails at once, in one line', async () => {
    const user = `tributary_nosuch_${suffix}`;
    const { out, retries, run } = await syncOnce('mysql', { ...mysqlServer, user, password: 'wrong-password-here', database: 'mysql' });
    expect(out.ok).toBe(false);
    expect(retries).toEqual([]);
    expect(out.error).toMatch(new RegExp(`^sync shop, stream customers: cannot connect to mysql at .* as ${user}: Access denied for user '${user}'.* \\(not retried: check the source's user, password and database\\)$`));
    expect(out.error).not.toContain('wrong-password-here');
    expect(run).toMatchObject({ status: 'failed', error: out.error });
  });

  it('PostgreSQL: an unknown role fails at once', async () => {
    const user = `tributary_nosuch_${suffix}`;
    const { out, retries } = await syncOnce('postgres', { ...pgServer, user, password: 'whatever', database: 'test' });
    expect(retries).toEqual([]);
    expect(out.error).toMatch(new RegExp(`as ${user}: role "${user}" does not exist \\(not retried`));
  });

  it('PostgreSQL: a database that does not exist fails at once', async () => {
    const database = `tributary_nosuch_${suffix}`;
    const { out, retries } = await syncOnce('postgres', { ...pgServer, database });
    expect(retries).toEqual([]);
    expect(out.error).toMatch(new RegExp(`database "${database}" does not exist \\(not retried`));
  });

  it('a server that is not listening is still retried', async () => {
    const { out, retries } = await syncOnce('postgres', { ...pgServer, port: 1, database: 'test', connectTimeoutMs: 1000 });
    expect(out.ok).toBe(false);
    expect(retries).toHaveLength(4);
  });
});
