// A plugin that misbehaves on purpose, for the timeout tests: `hang-read` yields one
// record and a checkpoint, then never yields again; `hang-write` never returns from
// its first `hangFirst` write calls. Neither honours ctx.signal (the worst case), but
// each writes a marker file when the engine aborts it, so tests can see the abort.
import { appendFileSync, writeFileSync } from 'node:fs';

const passthrough = { parse: (x) => x, safeParse: (x) => ({ success: true, data: x }) };
const forever = () => new Promise(() => undefined);
const onAbort = (signal, marker) => {
  if (marker) signal.addEventListener('abort', () => writeFileSync(marker, String(signal.reason?.message ?? signal.reason)), { once: true });
};

const hangRead = {
  id: 'hang-read',
  kind: 'source',
  spec: { config: passthrough },
  check: async () => ({ ok: true }),
  discover: async () => [{ name: 'items', fields: { id: { type: 'string' }, email: { type: 'string' } }, primaryKey: ['id'] }],
  async *read(ctx) {
    onAbort(ctx.signal, ctx.config.abortMarker);
    yield { type: 'record', stream: 'items', data: { id: '1', email: 'stuck@shop.io' } };
    yield { type: 'state', stream: 'items', state: { after: '1' } };
    await forever();
  },
};

const calls = new Map();
const hangWrite = {
  id: 'hang-write',
  kind: 'destination',
  delivery: 'incremental',
  spec: { config: passthrough },
  check: async () => ({ ok: true }),
  async write(ctx, batch) {
    const n = (calls.get(ctx.config.log) ?? 0) + 1;
    calls.set(ctx.config.log, n);
    if (n <= (ctx.config.hangFirst ?? 0)) {
      onAbort(ctx.signal, ctx.config.abortMarker);
      return forever();
    }
    for (const item of batch) appendFileSync(ctx.config.log, `${item.op} ${item.key}\n`);
    return batch.map(() => ({ status: 'ok' }));
  },
};

export default { name: 'hanging-fixture', version: '1.0.0', apiVersion: 1, sources: [hangRead], destinations: [hangWrite] };
