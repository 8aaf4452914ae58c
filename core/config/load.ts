import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { validate as validCron } from 'node-cron';
import { ConfigError } from '../errors.js';
import { checkPurposes } from '../privacy/consent.js';
import { BUILT_IN_IDENTIFIER_TYPES } from '../schema/canonical.js';
import { configSchema, type TributaryConfig } from './schema.js';
import { checkReferences } from './references.js';

export interface LoadedConfig {
  file: string;
  config: TributaryConfig;
  /** Every value that came from a `${...}` reference: redacted from logs. */
  secrets: Set<string>;
  /** Line of a YAML path in the file, for errors raised after loading (plugin config). */
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

const REF = /\$\{([^}]+)\}/g;

/** Replace `${ENV}` and `${file:/path}` in every string scalar, recording the secret values. */
function resolveRefs(
  value: unknown,
  path: Array<string | number>,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
  fail: (path: Array<string | number>, message: string) => never,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(REF, (_m, ref: string) => {
      const trimmed = ref.trim();
      let resolved: string;
      if (trimmed.startsWith('file:')) {
        const file = trimmed.slice(5);
        try {
          resolved = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          fail(path, `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      } else {
        const sep = trimmed.indexOf(':-');
        const name = sep < 0 ? trimmed : trimmed.slice(0, sep);
        const fallback = sep < 0 ? undefined : trimmed.slice(sep + 2);
        const v = env[name];
        if (v === undefined || v === '') {
          if (fallback === undefined) fail(path, `environment variable ${name} is not set`);
          resolved = fallback!;
        } else resolved = v;
      }
      if (resolved.length >= 4) secrets.add(resolved);
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveRefs(v, [...path, i], env, secrets, fail));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // Assigning it would set out's prototype, and the schema drops such a key anyway: a trait, purpose or output name vanished.
      if (k === '__proto__') fail([...path, k], 'a key named __proto__ cannot be kept (a JavaScript object cannot hold it as a name); choose another name');
      out[k] = resolveRefs(v, [...path, k], env, secrets, fail);
    }
    return out;
  }
  return value;
}

function lineFinder(doc: Document, counter: LineCounter) {
  return (path: ReadonlyArray<string | number>): number | undefined => {
    // Walk down as far as the document goes: a missing key reports its parent's line.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** A zod issue, as one human line: what was expected, and what was there. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      // Name what each accepted form expected ("expected string or array"), not just that none matched.
      const expected = [...new Set(issue.errors.map((branch) => branch[0]).filter((i) => i?.code === 'invalid_type').map((i) => (i as { expected: string }).expected))];
      return expected.length ? `expected ${expected.join(' or ')}` : 'does not match any accepted form';
    }
    default:
      return issue.message;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

export function loadConfigText(text: string, file: string, opts: LoadOptions = {}): LoadedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = counter.linePos(e.pos[0]).line;
    throw new ConfigError(`invalid YAML: ${e.message.split('\n')[0]}`, { file, line });
  }
  const lineOf = lineFinder(doc, counter);
  const fail = (path: Array<string | number>, message: string): never => {
    throw new ConfigError(`${formatPath(path)}: ${message}`, { file, line: lineOf(path), path: formatPath(path) });
  };
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail([], 'expected a mapping with sources, resolution and destinations');
  const secrets = new Set<string>();
  const resolved = resolveRefs(raw, [], opts.env ?? process.env, secrets, fail);
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    fail(path, `${describeIssue(issue)}${more}`);
  }
  const config = parsed.data!;
  checkUnique(config, fail);
  checkReferences(config, fail);
  return { file, config, secrets, lineOf };
}

function checkUnique(config: TributaryConfig, fail: (path: Array<string | number>, message: string) => never) {
  const seen = new Map<string, number>();
  config.sources.forEach((s, i) => {
    if (seen.has(s.name)) fail(['sources', i, 'name'], `duplicate source name "${s.name}" (also sources[${seen.get(s.name)}])`);
    seen.set(s.name, i);
    if (s.schedule !== undefined && !validCron(s.schedule)) fail(['sources', i, 'schedule'], `expected a cron expression such as "*/15 * * * *", got "${s.schedule}"`);
    const streams = new Set<string>();
    s.streams.forEach((st, j) => {
      if (streams.has(st.name)) fail(['sources', i, 'streams', j, 'name'], `duplicate stream name "${st.name}"`);
      streams.add(st.name);
      if (st.kind === 'track' && !st.mapping.event) {
        fail(['sources', i, 'streams', j, 'mapping'], 'a track stream needs mapping.event with a name');
      }
    });
  });
  const dests = new Set<string>();
  config.destinations.forEach((d, i) => {
    if (dests.has(d.name)) fail(['destinations', i, 'name'], `duplicate destination name "${d.name}"`);
    dests.add(d.name);
    if (typeof d.trigger === 'object' && !validCron(d.trigger.schedule)) fail(['destinations', i, 'trigger', 'schedule'], `expected a cron expression, got "${d.trigger.schedule}"`);
  });
  checkIdentifierTypes(config, fail);
  checkPurposes(config, fail);
  for (const [type, b] of Object.entries(config.resolution.blocked)) {
    b.regex.forEach((r, j) => {
      try {
        new RegExp(r);
      } catch (err) {
        fail(['resolution', 'blocked', type, 'regex', j], `invalid regular expression: ${(err as Error).message}`);
      }
    });
  }
}

/** Their normalizers keep no namespace: `email.work` would silently become a plain email. */
const NO_NAMESPACE = new Set(['email', 'phone']);

/**
 * A mapping or a rule that names an identifier type nobody declared is a typo
 * (`emial`): it would leave profiles without identifiers, or a rule that never applies.
 */
function checkIdentifierTypes(config: TributaryConfig, fail: (path: Array<string | number>, message: string) => never) {
  const known = new Set<string>([...BUILT_IN_IDENTIFIER_TYPES, ...config.resolution.identifierTypes]);
  const unknown = (t: string) => {
    const hint = didYouMean(t, [...known]);
    return `unknown identifier type "${t}"${hint ? `; did you mean "${hint}"?` : ''} (known: ${[...known].sort().join(', ')}; declare others in resolution.identifierTypes)`;
  };
  const checkKey = (key: string, path: Array<string | number>, mapped: boolean) => {
    const dot = key.indexOf('.');
    const type = dot < 0 ? key : key.slice(0, dot);
    if (!known.has(type)) fail(path, unknown(type));
    if (dot < 0 || !mapped) return;
    if (dot === key.length - 1) fail(path, `empty namespace after "${type}." (write ${type}.<namespace>, e.g. ${type}.crm)`);
    if (NO_NAMESPACE.has(type)) fail(path, `${type} takes no namespace (only external_id and declared types do); map it as "${type}"`);
  };
  config.sources.forEach((s, i) =>
    s.streams.forEach((st, j) => {
      for (const k of Object.keys(st.mapping.identifiers)) checkKey(k, ['sources', i, 'streams', j, 'mapping', 'identifiers', k], true);
    }),
  );
  config.resolution.mergeOn.forEach((t, i) => checkKey(t, ['resolution', 'mergeOn', i], false));
  for (const t of Object.keys(config.resolution.limits)) checkKey(t, ['resolution', 'limits', t], false);
  for (const t of Object.keys(config.resolution.blocked)) if (t !== '*') checkKey(t, ['resolution', 'blocked', t], false);
}

/** The closest candidate within two edits (one for short words), for "did you mean". */
export function didYouMean(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.max(1, Math.floor(word.length / 3))) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (`emial`). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
  const loaded = loadConfigText(text, file, opts);
  return loaded;
}

