import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { boot, type Booted } from '../container.js';
import { TributaryError, errorMessage } from '../errors.js';
import { identifierKey } from '../schema/canonical.js';
import { normalizeEmail, normalizePhone } from '../schema/normalize.js';
import type { ProfileStore, RunSummary } from '../store/types.js';
import type { Logger } from '../plugin/types.js';
import type { LogLevel } from '../util/logger.js';

export interface GlobalOptions {
  config: string;
  verbose?: boolean;
  logLevel?: LogLevel;
  jsonLogs?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function defaultConfigFile(): string {
  if (process.env.TRIBUTARY_CONFIG) return process.env.TRIBUTARY_CONFIG;
  return existsSync('tributary.yaml') ? 'tributary.yaml' : 'config/example.yaml';
}

export async function withEngine<T>(cmd: Command, fn: (b: Booted) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const booted = await boot({ configFile: g.config, logLevel: g.logLevel ?? (g.verbose ? 'debug' : 'info'), jsonLogs: g.jsonLogs });
  try {
    return await fn(booted);
  } catch (err) {
    // Whatever reaches the terminal goes through the same redaction as the logs.
    if (err instanceof Error) err.message = booted.redactor.redact(err.message);
    throw err;
  } finally {
    await booted.close();
  }
}

/** Print one clear line (the stack only with --verbose) and set a non-zero exit code. */
export function reportError(err: unknown, verbose: boolean): void {
  const line = errorMessage(err);
  process.stderr.write(`error: ${line}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = err instanceof TributaryError && err.name === 'ConfigError' ? 2 : 1;
}

/** Find a profile by id, alias, email or phone. */
export async function findProfile(store: ProfileStore, query: string, defaultRegion: string): Promise<string | undefined> {
  const direct = await store.resolveProfileId(query);
  if (direct) return direct;
  const keys: string[] = [];
  const email = normalizeEmail(query);
  if (email.ok) keys.push(identifierKey({ type: 'email', value: email.value }));
  const phone = normalizePhone(query, defaultRegion);
  if (phone.ok) keys.push(identifierKey({ type: 'phone', value: phone.value }));
  const owners = await store.lookupIdentifiers(keys);
  for (const k of keys) {
    const id = owners.get(k);
    if (id) return (await store.resolveProfileId(id)) ?? id;
  }
  return undefined;
}

/**
 * Commander parser for every count option (`-n/--limit`, `--progress-every`):
 * a whole number from 1 up, or a one-line error naming the option and the value.
 */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number from 1 up (for example 20)');
  }
  return n;
}

/** Exit status of a command stopped by a signal, as shells report it: 128 + the signal number. */
export function signalExitCode(signal: string): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1;
}

/**
 * Progress of a long sync: on a terminal one line rewritten in place; elsewhere
 * (a log file, systemd, docker) an info line at most every `everyMs`.
 */
export function progressReporter(opts: {
  tty: boolean;
  logger: Logger;
  everyMs: number;
  now?: () => number;
  write?: (s: string) => void;
}): (p: { sync: string; read: number; written: number }) => void {
  const now = opts.now ?? Date.now;
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  const last = new Map<string, number>();
  return (p) => {
    if (opts.tty) {
      write(`\r  ${p.sync}: read ${p.read}, written ${p.written}   `);
      return;
    }
    const t = now();
    if (!last.has(p.sync)) last.set(p.sync, t);
    if (t - last.get(p.sync)! < opts.everyMs) return;
    last.set(p.sync, t);
    opts.logger.info(`sync ${p.sync}: read ${p.read}, written ${p.written} so far`);
  };
}

/** `read 10, written 9, dead-lettered 1; profiles +9 ~0 merged 0`: one run's counts on one line. */
export function countsLine(summary: RunSummary): string {
  const streams = Object.values(summary.streams);
  const sum = (k: 'read' | 'written' | 'deadLettered' | 'warnings') => streams.reduce((a, s) => a + s[k], 0);
  const p = summary.profiles;
  return (
    `read ${sum('read')}, written ${sum('written')}, dead-lettered ${sum('deadLettered')}${sum('warnings') ? `, field warnings ${sum('warnings')}` : ''}; ` +
    `profiles +${p.created} ~${p.updated} merged ${p.merged}`
  );
}
