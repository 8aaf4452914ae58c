import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RateGate } from '../plugin/types.js';
import { RateLimiter, realClock, WINDOW_SLACK_MS } from './rate-limit.js';
import { RedisRateLimiter, redisRateGates } from './rate-limit-redis.js';

// Real Redis (127.0.0.1:6379) under a prefix of this run's own; a local HTTP server stands for the vendor
// and stamps each request when it arrives (the vendor's clock is the one that counts).
const prefix = `trib-rate-${process.pid}-${randomBytes(3).toString('hex')}`;
const admin = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const clients: Redis[] = [];
let server: Server;
let port = 0;
let arrivals: number[] = [];

function client(): Redis {
  const c = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  for (const c of clients) c.disconnect();
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

function post(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/contacts', agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

/** Two workers, each with `lanes` writers in flight, send `each` requests apiece through their own gate. */
async function twoWorkers(gates: [RateGate, RateGate], each: number, lanes = 3): Promise<number[]> {
  arrivals = [];
  await Promise.all(
    gates.map(async (gate) => {
      let left = each;
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (left-- > 0) {
            await gate.take('default');
            await post();
          }
        }),
      );
    }),
  );
  return [...arrivals].sort((a, b) => a - b);
}

/** Most requests the server saw in any one-second window. */
function busiestSecond(times: number[]): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

const budgets = { default: { perSecond: 10 } };

describe('rate budget shared by the workers of a deployment (Redis)', () => {
  it('two workers with their own Redis connections never exceed 10 requests in any second at the destination', async () => {
    const gates = [client(), client()].map((redis) => new RedisRateLimiter({ redis, prefix, destination: 'crm', budgets, clock: realClock })) as [RedisRateLimiter, RedisRateLimiter];
    const started = Date.now();
    const times = await twoWorkers(gates, 25);
    expect(times).toHaveLength(50);
    expect(busiestSecond(times)).toBeLessThanOrEqual(10);
    // Not throttled into a crawl either: 50 requests at 10 per 1.05 s take about 4 windows.
    expect(Date.now() - started).toBeLessThan(4 * (1000 + WINDOW_SLACK_MS) + 2000);
    expect(gates[0].waitedMs + gates[1].waitedMs).toBeGreaterThan(0);
    // Each gate reports its own requests for the run's saved levels.
    expect(gates[0].levels()['default.perSecond'].times.length + gates[1].levels()['default.perSecond'].times.length).toBeGreaterThan(0);
  });

  it('the in-memory gate of each process would let both through: 20 in the first second', async () => {
    const gates: [RateGate, RateGate] = [new RateLimiter(budgets, realClock), new RateLimiter(budgets, realClock)];
    const times = await twoWorkers(gates, 15);
    expect(busiestSecond(times)).toBeGreaterThan(10);
  });

  it('a pause (a 429 with a reset) seen by one worker holds the other too', async () => {
    const make = redisRateGates({ redis: client(), prefix });
    const other = redisRateGates({ redis: client(), prefix });
    const a = make({ destination: 'paused', budgets, clock: realClock });
    const b = other({ destination: 'paused', budgets, clock: realClock });
    await a.take();
    a.pause(1500);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await b.take();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1300);
  });

  it('destinations have windows of their own; a stop ends a wait at once', async () => {
    const redis = client();
    const one = { default: { perSecond: 1 } };
    const a = new RedisRateLimiter({ redis, prefix, destination: 'a', budgets: one, clock: realClock });
    const b = new RedisRateLimiter({ redis, prefix, destination: 'b', budgets: one, clock: realClock });
    const t0 = Date.now();
    await a.take();
    await b.take();
    expect(Date.now() - t0).toBeLessThan(500);
    const stop = new AbortController();
    const c = new RedisRateLimiter({ redis, prefix, destination: 'a', budgets: one, clock: realClock, signal: stop.signal });
    setTimeout(() => stop.abort(), 100);
    await c.take();
    expect(Date.now() - t0).toBeLessThan(800);
  });
});
