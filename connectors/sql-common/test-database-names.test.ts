import { describe, expect, it } from 'vitest';
import { IT_DATABASE as MYSQL_DB } from '../mysql/__fixtures__/seed.js';
import { IT_DATABASE as PG_DB } from '../postgres/__fixtures__/seed.js';

// Issue 8, item 22: integration suites drop and recreate their database, so a
// fixed name lets two checkouts testing on one machine destroy each other's data.
describe('integration test databases', () => {
  it('are named per run (process id and a random suffix), as plain identifiers either server accepts', () => {
    for (const name of [MYSQL_DB, PG_DB]) {
      expect(name).toMatch(new RegExp(`^tributary_it_(mysql|pg)_${process.pid}_[0-9a-f]{6}$`));
      // PostgreSQL truncates identifiers past 63 bytes (MySQL refuses past 64).
      expect(name.length).toBeLessThanOrEqual(63);
    }
  });
});
