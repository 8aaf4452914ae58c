/**
 * `postgres://user@host:port/db`, never the password. Kept apart from pg-conn.ts so that
 * printing a store's location does not load the PostgreSQL driver.
 */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}
