import { z } from 'zod';
import { definePlugin } from '../../plugin/define-plugin.js';
import { PLUGIN_API_VERSION, type SourceConnector } from '../../plugin/types.js';

/**
 * A tiny push source for serve's tests: `POST /hooks/<source>` with a bearer
 * token appends the JSON body to the inbox (de-duplicated on `id`). The real
 * webhook source lives in connectors/webhook; this only exercises the seam.
 */
export const echoHookSource: SourceConnector<{ token: string }> = {
  id: 'echo-hook',
  kind: 'source',
  spec: { config: z.object({ token: z.string().min(4) }).strict(), secrets: ['token'] },
  drainsInbox: true,
  incrementalWithoutCursor: true,
  async check() {
    return { ok: true };
  },
  async discover() {
    return [];
  },
  async *read() {},
  inbound(ctx, streams) {
    return [
      {
        method: 'POST',
        path: `/hooks/${ctx.name}`,
        maxBodyBytes: 2048,
        async handle(req, inbox) {
          if (req.headers.authorization !== `Bearer ${ctx.config.token}`) return { status: 401, body: { error: 'bad token' } };
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(req.rawBody.toString('utf8')) as Record<string, unknown>;
          } catch {
            return { status: 400, body: { error: 'not JSON' } };
          }
          const r = await inbox.append([{ source: ctx.name, stream: streams[0].name, dedupKey: typeof body.id === 'string' ? body.id : undefined, receivedAt: new Date().toISOString(), body }]);
          return { status: 200, body: r };
        },
      },
    ];
  },
};

export const echoHookPlugin = definePlugin({ name: 'echo-hook', version: '0.0.1', apiVersion: PLUGIN_API_VERSION, sources: [echoHookSource] });
