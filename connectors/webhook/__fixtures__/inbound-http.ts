import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InboundRequest, InboundRoute, InboxWriter } from '../../../core/serve/contract.js';

/**
 * A small node:http server for tests that mounts InboundRoutes the way
 * `tributary serve` will: the raw request bytes become `rawBody` (so
 * signatures are checked over what was really sent), headers are lower-cased,
 * a body over `maxBodyBytes` is answered 413 before the handler runs, an
 * unknown path is 404, and a handler that throws is 500. Listens on 127.0.0.1,
 * port 0.
 */
export async function startInboundHarness(routes: InboundRoute[], inbox: InboxWriter): Promise<{ url: string; close(): Promise<void> }> {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    const path = (req.url ?? '/').split('?')[0];
    const route = byPath.get(path);
    if (!route) {
      req.resume();
      send(404, { error: 'not found' });
      return;
    }
    readBody(req, route.maxBodyBytes ?? 1024 * 1024).then(
      async (rawBody) => {
        if (!rawBody) {
          send(413, { error: 'body too large' }, { connection: 'close' });
          return;
        }
        const headers: InboundRequest['headers'] = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        try {
          const out = await route.handle({ method: req.method ?? 'GET', path, headers, rawBody }, inbox);
          send(out.status, out.body, out.headers);
        } catch {
          send(500, { error: 'internal error' });
        }
      },
      () => send(400, { error: 'bad request' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The body, or null once it passes `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
