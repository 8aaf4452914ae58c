/** Template for a scaffolded destination: one JSON file per profile in a folder. */
import type { ScaffoldNames } from './scaffold-names.js';

export function destinationTemplate(n: ScaffoldNames): string {
  return `import { mkdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DestinationConnector, DestinationContext, WriteResult } from '${n.typesImport}';
import { destinationConfig, type DestinationConfig } from './config.js';

const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT']);

const folder = (ctx: { baseDir?: string; config: DestinationConfig }) => resolve(ctx.baseDir ?? process.cwd(), ctx.config.dir);
const fileFor = (ctx: DestinationContext<DestinationConfig>, key: string) => join(folder(ctx), \`\${encodeURIComponent(key)}.json\`);

/** What a failure means: the engine retries retryable ones and dead-letters permanent ones. */
function classify(err: NodeJS.ErrnoException): WriteResult {
  const reason = \`\${err.code ?? 'error'}: \${err.message}\`;
  return err.code && TRANSIENT.has(err.code) ? { status: 'retryable', reason } : { status: 'permanent', reason };
}

export const ${n.camel}Destination: DestinationConnector<DestinationConfig> = {
  id: '${n.id}',
  kind: 'destination',
  delivery: 'incremental',
  spec: { config: destinationConfig, secrets: [] },
  capabilities: { delete: true },
  // TODO(${n.id}): the request budget your system documents.
  budgets: { default: { perSecond: 50 } },

  async check(ctx) {
    // The folder may not exist yet (write creates it), but its parent must.
    try {
      const s = await stat(folder(ctx)).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return stat(resolve(folder(ctx), '..'));
        throw err;
      });
      return s.isDirectory() ? { ok: true } : { ok: false, message: \`\${ctx.config.dir} is not a folder\` };
    } catch (err) {
      return { ok: false, message: \`cannot use \${ctx.config.dir}: \${(err as Error).message}\` };
    }
  },

  // TODO(${n.id}): replace the file writes with requests to your system; keep one result per item.
  async write(ctx, batch) {
    await mkdir(folder(ctx), { recursive: true });
    const out: WriteResult[] = [];
    for (const item of batch) {
      await ctx.rate.take();
      try {
        if (item.op === 'delete') {
          await rm(fileFor(ctx, item.previous?.ref ?? item.key), { force: true });
        } else if (item.op === 'upsert') {
          if (!item.profile) {
            out.push({ status: 'permanent', reason: \`upsert \${item.key} carries no profile\` });
            continue;
          }
          const file = fileFor(ctx, item.key);
          await writeFile(\`\${file}.tmp\`, JSON.stringify(item.payload ?? item.profile));
          await rename(\`\${file}.tmp\`, file);
        } else {
          out.push({ status: 'permanent', reason: \`op \${item.op} is not supported\` });
          continue;
        }
        out.push({ status: 'ok' });
      } catch (err) {
        out.push(classify(err as NodeJS.ErrnoException));
      }
    }
    return out;
  },
};
`;
}
