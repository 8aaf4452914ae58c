import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testContext } from '../../test/kit/context.js';
import { isStaleKeepAlive } from '../../core/util/stale-socket.js';
import { brevoConfigSchema } from './config.js';
import { brevoHttp } from './http.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** Answers the first request on each socket; a second request on the same socket finds it closed (as a server's idle timeout does). */
async function closingServer(): Promise<{ url: string; answered: () => number }> {
  const used = new WeakSet<Socket>();
  let answered = 0;
  server = createServer((req, res) => {
    if (used.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    used.add(req.socket);
    answered++;
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' });
    res.end('{"email":"owner@shop.io"}');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`, answered: () => answered };
}

describe('a keep-alive socket the server closed', () => {
  it('is sent again once on a fresh socket: the request never reached the server', async () => {
    const s = await closingServer();
    const http = brevoHttp(testContext(brevoConfigSchema.parse({ apiKey: 'xkeysib-test', baseUrl: s.url })));
    const first = await http.send({ budget: 'contacts', method: 'GET', path: '/account' });
    const second = await http.send({ budget: 'contacts', method: 'GET', path: '/account' });
    expect(first).toMatchObject({ kind: 'response', status: 200 });
    expect(second).toMatchObject({ kind: 'response', status: 200 });
    expect(s.answered()).toBe(2);
  });

  it('is told apart from a reset of a fresh connection, which is not retried here', () => {
    expect(isStaleKeepAlive({ code: 'ECONNRESET', request: { reusedSocket: true } })).toBe(true);
    expect(isStaleKeepAlive({ code: 'ECONNRESET', request: { reusedSocket: false } })).toBe(false);
    expect(isStaleKeepAlive({ code: 'ECONNRESET', request: { reusedSocket: true }, response: {} })).toBe(false);
    expect(isStaleKeepAlive({ code: 'ETIMEDOUT', request: { reusedSocket: true } })).toBe(false);
  });
});
