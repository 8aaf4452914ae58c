/**
 * A request that failed because the keep-alive socket it was sent on had just
 * been closed by the server (ECONNRESET / EPIPE on a reused socket, before any
 * answer). Node documents `reusedSocket` for exactly this: the request never
 * reached the server, so sending it once more on a fresh socket is safe.
 */
export function isStaleKeepAlive(err: unknown): boolean {
  const e = err as { code?: string; response?: unknown; request?: { reusedSocket?: boolean } } | undefined;
  return !!e && !e.response && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && e.request?.reusedSocket === true;
}
