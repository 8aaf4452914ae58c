/**
 * `o[k] = v` for an object being built from data, except that a key named `__proto__` becomes
 * an own key, as JSON.parse makes it: assigning that key sets the object's prototype instead,
 * and the key is gone. One comparison per key; the defineProperty runs only for that key.
 */
export function putOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
