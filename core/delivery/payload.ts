import type { ProfileDocument } from '../plugin/types.js';
import { hashPii } from './pii-hash.js';
import { parseProfilePath, readProfilePath, type ProfilePath } from './profile-path.js';
import { unknownName, type Vocabulary } from './vocabulary.js';

/** A mapping value: a profile path, or `sha256(<path>)` for platforms that match hashed identifiers. */
interface FieldSpec {
  name: string;
  path: ProfilePath;
  hash: boolean;
}

export interface CompiledPayload {
  build(doc: ProfileDocument): Record<string, unknown>;
}

export interface PayloadProblem {
  /** The output name in `mapping:` the problem is about. */
  name: string;
  message: string;
  /** Errors stop the load; warnings are printed and the run goes on. */
  severity: 'error' | 'warning';
}

const HASH = /^sha256\((.+)\)$/;

/** Which normalization the hash applies: the identifier type, or the trait name when it is email/phone. */
function hashKind(p: ProfilePath): 'email' | 'phone' | 'other' {
  const name = p.root === 'identifiers' || p.root === 'traits' ? p.rest[0] : '';
  return name === 'email' ? 'email' : name === 'phone' ? 'phone' : 'other';
}

/**
 * Compile a destination's `mapping:` (output name -> path). Problems come back
 * with the name they belong to, so the caller can point at the YAML line.
 */
export function compilePayload(
  mapping: Record<string, string>,
  opts: { names?: RegExp; describe?: string; vocabulary: Vocabulary },
): { payload?: CompiledPayload; problems: PayloadProblem[] } {
  const problems: PayloadProblem[] = [];
  const fields: FieldSpec[] = [];
  for (const [name, raw] of Object.entries(mapping)) {
    // build() assigns output names: this one would set the payload's prototype and be gone from what is sent.
    if (name === '__proto__') {
      problems.push({ name, severity: 'error', message: '"__proto__" cannot be an output name (a JavaScript object cannot hold it as a key); choose another' });
      continue;
    }
    if (opts.names && !opts.names.test(name)) {
      problems.push({ name, severity: 'error', message: `"${name}" is not a valid name here (expected ${opts.describe ?? opts.names.source})` });
      continue;
    }
    const m = HASH.exec(raw.trim());
    const parsed = parseProfilePath(m ? m[1] : raw);
    if ('error' in parsed) {
      problems.push({ name, severity: 'error', message: parsed.error });
      continue;
    }
    const unknown = unknownName(parsed, opts.vocabulary);
    if (unknown) problems.push({ name, severity: 'warning', message: unknown });
    fields.push({ name, path: parsed, hash: !!m });
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    problems,
    payload: {
      build(doc) {
        const out: Record<string, unknown> = {};
        for (const f of fields) {
          let v = readProfilePath(doc, f.path);
          if (v === undefined || v === null || v === '') continue;
          if (f.hash) {
            const kind = hashKind(f.path);
            v = Array.isArray(v) ? v.map((x) => hashPii(kind, String(x))) : hashPii(kind, String(v));
          }
          out[f.name] = v;
        }
        return out;
      },
    },
  };
}
