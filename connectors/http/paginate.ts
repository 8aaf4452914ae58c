import type { JsonValue } from '../../core/plugin/types.js';
import { getPath } from './cursor.js';
import type { Paginator } from './config.js';

/** Where the next request of a stream goes; `undefined` is the first page. Must be JSON: it is saved in state. */
export type Position = { page: number } | { offset: number } | { token: string } | { url: string };

/** The page-dependent query parameters of a request (page number, offset and limit, cursor token). */
export function pageQuery(p: Paginator, pos: Position | undefined): Record<string, string> {
  switch (p.type) {
    case 'page': {
      const page = pos && 'page' in pos ? pos.page : p.start;
      return { [p.param]: String(page), ...(p.sizeParam && p.size ? { [p.sizeParam]: String(p.size) } : {}) };
    }
    case 'offset':
      return { [p.param]: String(pos && 'offset' in pos ? pos.offset : 0), [p.limitParam]: String(p.limit) };
    case 'cursor':
      return pos && 'token' in pos ? { [p.param]: pos.token } : {};
    default:
      return {};
  }
}

/** A next URL given by the API replaces the configured URL and query. */
export const nextUrlOf = (pos: Position | undefined): string | undefined => (pos && 'url' in pos ? pos.url : undefined);

/** The `rel="next"` target of a Link header (RFC 8288). */
export function linkNext(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
}

export interface PageSeen {
  url: string;
  body: unknown;
  headers: Record<string, string>;
  /** Records on this page. */
  count: number;
  /** Records read in this pass, this page included. */
  readSoFar: number;
}

/** The position after `seen`, or undefined when the stop rules say the stream is read. */
export function nextPosition(p: Paginator, pos: Position | undefined, seen: PageSeen): Position | undefined {
  if (seen.count === 0) return undefined;
  const total = (path: string | undefined) => {
    if (!path) return undefined;
    const t = Number(getPath(seen.body, path));
    return Number.isFinite(t) ? t : undefined;
  };
  switch (p.type) {
    case 'none':
      return undefined;
    case 'page': {
      const t = total(p.totalPath);
      if (t !== undefined ? seen.readSoFar >= t : p.size !== undefined && seen.count < p.size) return undefined;
      return { page: (pos && 'page' in pos ? pos.page : p.start) + 1 };
    }
    case 'offset': {
      const t = total(p.totalPath);
      // With a total, a server that caps `limit` below ours still pages correctly; without, a short page ends the stream.
      if (t !== undefined ? seen.readSoFar >= t : seen.count < p.limit) return undefined;
      return { offset: (pos && 'offset' in pos ? pos.offset : 0) + seen.count };
    }
    case 'cursor': {
      const token = getPath(seen.body, p.path);
      return typeof token === 'string' && token !== '' ? { token } : typeof token === 'number' ? { token: String(token) } : undefined;
    }
    case 'next_url': {
      const next = getPath(seen.body, p.path);
      return typeof next === 'string' && next !== '' ? { url: new URL(next, seen.url).toString() } : undefined;
    }
    case 'link': {
      const next = linkNext(seen.headers['link']);
      return next ? { url: new URL(next, seen.url).toString() } : undefined;
    }
  }
}

export const positionJson = (pos: Position): JsonValue => ({ ...pos });
