/**
 * Named fault points for crash tests of delivery, read once from the test-only
 * variable TRIBUTARY_DELIVERY_FAULT (`after-write:N`: SIGKILL this process
 * right after the N-th write call returns, before its results are settled).
 * Unset, it costs one comparison per batch.
 */
const spec = process.env.TRIBUTARY_DELIVERY_FAULT;
const afterWrite = spec?.startsWith('after-write:') ? Number(spec.slice('after-write:'.length)) : 0;
let writes = 0;

export function faultAfterWrite(): void {
  if (!afterWrite) return;
  if (++writes === afterWrite) process.kill(process.pid, 'SIGKILL');
}
