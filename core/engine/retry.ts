import type { RetryConfig } from '../config/schema.js';

export function backoffDelay(retry: RetryConfig, attempt: number, hintMs?: number): number {
  const exp = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** attempt);
  // Full jitter keeps many workers from retrying in lockstep; a server's Retry-After wins.
  const jittered = Math.round(exp / 2 + Math.random() * (exp / 2));
  return hintMs !== undefined ? Math.min(retry.maxDelayMs, Math.max(hintMs, 0)) : jittered;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
