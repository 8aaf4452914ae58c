// A small incremental destination for crash tests, loaded by path from YAML
// (`plugins: [.../test/crash/jsonl-destination.mjs]`). Plain JavaScript so the
// built CLI can import it without a compile step. Being incremental, it makes
// every batch write the outbox; the tests configure it with `trigger: manual`
// so only the outbox matters, but it really delivers when asked: one JSON line
// per item, appended to `path`.
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';

const destination = {
  id: 'test-jsonl',
  kind: 'destination',
  delivery: 'incremental',
  spec: { config: z.object({ path: z.string().min(1) }).strict() },
  async check() {
    return { ok: true };
  },
  async write(ctx, batch) {
    const lines = batch.map((item) => JSON.stringify({ key: item.key, op: item.op, profile: item.profile?.id ?? null }));
    if (lines.length) await appendFile(ctx.config.path, `${lines.join('\n')}\n`);
    return batch.map(() => ({ status: 'ok' }));
  },
};

export default { name: 'test-jsonl-destination', version: '0.0.0', apiVersion: 1, destinations: [destination] };
