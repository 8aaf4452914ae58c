import { lookup } from 'node:dns/promises';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { CheckResult } from '../../core/plugin/types.js';
import { webhookConfigSchema } from './config.js';

/** The longest `check` waits for DNS, then for the connection. */
export const CHECK_TIMEOUT_MS = 10_000;

/**
 * `https://host:port` of a URL: safe for messages. The path is left out too,
 * because many webhook URLs carry their token in it (`/services/T0/B0/XXXX`).
 */
export function describeUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured url';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}

/** Open a TCP (http) or TLS (https, certificate verified) connection and close it at once: nothing is sent. */
function probe(host: string, port: number, tls: boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (err?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const socket: Socket = tls
      ? tlsConnect({ host, port, servername: isIP(host) ? undefined : host }, () => done())
      : tcpConnect({ host, port }, () => done());
    timer = setTimeout(() => done(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' })), ms);
    socket.once('error', done);
  });
}

/**
 * What `check` verifies, without sending a delivery: the config is valid
 * (schema, secret decodes), the URL's host resolves, and a connection opens
 * (for https, the TLS handshake with the certificate verified). Never throws.
 */
export async function checkEndpoint(config: unknown, timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult> {
  const parsed = webhookConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue.path.join('.') || 'config'}: ${issue.message}` };
  }
  const url = new URL(parsed.data.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const where = describeUrl(parsed.data.url);
  const ms = Math.min(timeoutMs, parsed.data.timeoutMs);
  try {
    if (!isIP(host)) await withTimeout(lookup(host), ms, `resolving ${host}`);
  } catch (err) {
    return { ok: false, message: `cannot resolve ${host} (${codeOf(err)}) for ${where}` };
  }
  try {
    await probe(host, port, url.protocol === 'https:', ms);
  } catch (err) {
    return { ok: false, message: `cannot connect to ${host}:${port} (${codeOf(err)}) for ${where}` };
  }
  return { ok: true };
}
