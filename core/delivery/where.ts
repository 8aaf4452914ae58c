import type { ProfileDocument } from '../plugin/types.js';
import { parseProfilePath, readProfilePath, type ProfilePath } from './profile-path.js';

/**
 * The `where:` filter of a destination: a small expression language, parsed
 * once at load into a tree and evaluated per profile (never `eval`).
 *
 *   exists(identifiers.email) and consent.email_marketing = true
 *   computed.orders >= 2 or traits.tier in ["gold", "platinum"]
 *   not contains(traits.tags, "test") and traits.country != "US"
 *
 * Comparisons: = != < <= > >=, `in [..]`; functions exists(path),
 * contains(path, value); and / or / not, parentheses. A bare path is true when
 * its value is `true`. A missing value compares unequal to everything (so
 * `!=` is true) and fails every ordering comparison. Numbers in strings ("42",
 * as CSV sources give them) compare as numbers against a number.
 */
export type Literal = string | number | boolean | null;

type Node =
  | { t: 'and' | 'or'; a: Node; b: Node }
  | { t: 'not'; a: Node }
  | { t: 'cmp'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; path: ProfilePath; value: Literal }
  | { t: 'in'; path: ProfilePath; values: Literal[] }
  | { t: 'exists'; path: ProfilePath }
  | { t: 'contains'; path: ProfilePath; value: Literal }
  | { t: 'truthy'; path: ProfilePath };

export class WhereSyntaxError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
  }
}

interface Token {
  k: 'path' | 'str' | 'num' | 'op' | 'punct' | 'word' | 'end';
  v: string;
  col: number;
}

const WORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null', 'exists', 'contains']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        s += src[j++];
      }
      if (j >= src.length) throw new WhereSyntaxError('unterminated string', col);
      out.push({ k: 'str', v: s, col });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ k: 'num', v: m[0], col });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*(\[\])?/.exec(src.slice(i))!;
      const word = m[0];
      out.push({ k: WORDS.has(word) ? 'word' : 'path', v: word, col });
      i += word.length;
    } else if (/[=!<>]/.test(c)) {
      const two = src.slice(i, i + 2);
      const op = ['!=', '<=', '>=', '=='].includes(two) ? two : c;
      if (op === '!') throw new WhereSyntaxError('unexpected "!" (use != or not)', col);
      out.push({ k: 'op', v: op === '==' ? '=' : op, col });
      i += op.length;
    } else if ('()[],'.includes(c)) {
      out.push({ k: 'punct', v: c, col });
      i++;
    } else {
      throw new WhereSyntaxError(`unexpected "${c}"`, col);
    }
  }
  out.push({ k: 'end', v: '', col: src.length + 1 });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i];
  }
  private next(): Token {
    return this.toks[this.i++];
  }
  private describe(t: Token): string {
    return t.k === 'end' ? 'the end' : `"${t.v}"`;
  }
  private expect(k: Token['k'], v?: string): Token {
    const t = this.next();
    if (t.k !== k || (v !== undefined && t.v !== v)) throw new WhereSyntaxError(`expected ${v ? `"${v}"` : k} but found ${this.describe(t)}`, t.col);
    return t;
  }

  parse(): Node {
    const n = this.or();
    const t = this.peek();
    if (t.k !== 'end') throw new WhereSyntaxError(`unexpected ${this.describe(t)} (expected and, or, or the end)`, t.col);
    return n;
  }
  private or(): Node {
    let a = this.and();
    while (this.peek().k === 'word' && this.peek().v === 'or') {
      this.next();
      a = { t: 'or', a, b: this.and() };
    }
    return a;
  }
  private and(): Node {
    let a = this.not();
    while (this.peek().k === 'word' && this.peek().v === 'and') {
      this.next();
      a = { t: 'and', a, b: this.not() };
    }
    return a;
  }
  private not(): Node {
    if (this.peek().k === 'word' && this.peek().v === 'not') {
      this.next();
      return { t: 'not', a: this.not() };
    }
    return this.comparison();
  }
  private path(): ProfilePath {
    const t = this.next();
    if (t.k !== 'path') throw new WhereSyntaxError(`expected a profile path (traits.x, computed.x, consent.x, identifiers.x) but found ${this.describe(t)}`, t.col);
    const p = parseProfilePath(t.v);
    if ('error' in p) throw new WhereSyntaxError(p.error, t.col);
    return p;
  }
  private literal(): Literal {
    const t = this.next();
    if (t.k === 'str') return t.v;
    if (t.k === 'num') return Number(t.v);
    if (t.k === 'word' && (t.v === 'true' || t.v === 'false')) return t.v === 'true';
    if (t.k === 'word' && t.v === 'null') return null;
    throw new WhereSyntaxError(`expected a value (a "string", a number, true, false or null) but found ${this.describe(t)}`, t.col);
  }
  private comparison(): Node {
    const t = this.peek();
    if (t.k === 'punct' && t.v === '(') {
      this.next();
      const n = this.or();
      this.expect('punct', ')');
      return n;
    }
    if (t.k === 'word' && (t.v === 'exists' || t.v === 'contains')) {
      this.next();
      this.expect('punct', '(');
      const path = this.path();
      let node: Node;
      if (t.v === 'contains') {
        this.expect('punct', ',');
        node = { t: 'contains', path, value: this.literal() };
      } else node = { t: 'exists', path };
      this.expect('punct', ')');
      return node;
    }
    const path = this.path();
    const op = this.peek();
    if (op.k === 'op') {
      this.next();
      return { t: 'cmp', op: op.v as '=', path, value: this.literal() };
    }
    if (op.k === 'word' && op.v === 'in') {
      this.next();
      this.expect('punct', '[');
      const values: Literal[] = [this.literal()];
      while (this.peek().k === 'punct' && this.peek().v === ',') {
        this.next();
        values.push(this.literal());
      }
      this.expect('punct', ']');
      return { t: 'in', path, values };
    }
    return { t: 'truthy', path };
  }
}

export interface CompiledWhere {
  matches(doc: ProfileDocument): boolean;
  /** Every path the expression reads, for load-time warnings. */
  paths: ProfilePath[];
}

function pathsOf(n: Node, out: ProfilePath[]): ProfilePath[] {
  switch (n.t) {
    case 'and':
    case 'or':
      pathsOf(n.a, out);
      pathsOf(n.b, out);
      break;
    case 'not':
      pathsOf(n.a, out);
      break;
    default:
      out.push(n.path);
  }
  return out;
}

function same(v: unknown, lit: Literal): boolean {
  if (lit === null) return v === null || v === undefined;
  if (v === undefined || v === null) return false;
  if (typeof lit === 'number') return toNumber(v) === lit;
  if (typeof lit === 'boolean') return v === lit || (typeof v === 'string' && v.toLowerCase() === String(lit));
  return String(v) === lit;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function order(v: unknown, lit: Literal): number | undefined {
  if (v === undefined || v === null || lit === null || typeof lit === 'boolean') return undefined;
  if (typeof lit === 'number') {
    const n = toNumber(v);
    return n === undefined ? undefined : n - lit;
  }
  if (typeof v !== 'string') return undefined;
  return v < lit ? -1 : v > lit ? 1 : 0;
}

function evaluate(n: Node, doc: ProfileDocument): boolean {
  switch (n.t) {
    case 'and':
      return evaluate(n.a, doc) && evaluate(n.b, doc);
    case 'or':
      return evaluate(n.a, doc) || evaluate(n.b, doc);
    case 'not':
      return !evaluate(n.a, doc);
    case 'truthy':
      return readProfilePath(doc, n.path) === true;
    case 'exists': {
      const v = readProfilePath(doc, n.path);
      return !(v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length));
    }
    case 'contains': {
      const v = readProfilePath(doc, n.path);
      if (Array.isArray(v)) return v.some((x) => same(x, n.value));
      return typeof v === 'string' && n.value !== null && v.includes(String(n.value));
    }
    case 'in': {
      const v = readProfilePath(doc, n.path);
      return n.values.some((lit) => same(v, lit));
    }
    case 'cmp': {
      const v = readProfilePath(doc, n.path);
      if (n.op === '=') return same(v, n.value);
      if (n.op === '!=') return !same(v, n.value);
      const o = order(v, n.value);
      if (o === undefined) return false;
      return n.op === '<' ? o < 0 : n.op === '<=' ? o <= 0 : n.op === '>' ? o > 0 : o >= 0;
    }
  }
}

/** Parse a `where:` expression; throws WhereSyntaxError with the column of the problem. */
export function compileWhere(src: string): CompiledWhere {
  const tree = new Parser(tokenize(src)).parse();
  return { matches: (doc) => evaluate(tree, doc), paths: pathsOf(tree, []) };
}
