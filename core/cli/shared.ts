import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { boot, type Booted } from '../container.js';
import { TributaryError, errorMessage } from '../errors.js';
import { identifierKey } from '../schema/canonical.js';
import { normalizeEmail, normalizePhone } from '../schema/normalize.js';
import type { ProfileStore } from '../store/types.js';
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
