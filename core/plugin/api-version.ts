import { PLUGIN_API_VERSION } from './types.js';

/**
 * The plugin API minor this engine provides (see docs/plugin-api.md). A minor
 * adds optional members only; a plugin written for 1.2 runs on any engine that
 * speaks 1.2 or later within major 1. A major bump removes or changes a member.
 */
export const PLUGIN_API_MINOR = 0;

/** What this engine accepts, for messages: `1.0` means apiVersion 1, or "1.0". */
export const SUPPORTED_PLUGIN_API = `${PLUGIN_API_VERSION}.${PLUGIN_API_MINOR}`;

/** A plugin's `apiVersion`: the major (`1`) or major.minor (`'1.2'`) it was written for. */
export type PluginApiVersion = number | `${number}.${number}`;

function parse(v: unknown): { major: number; minor: number } | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? { major: v, minor: 0 } : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/**
 * Why this engine cannot run a plugin declaring `apiVersion`, or undefined when it can.
 * Same major and a minor no newer than ours: accepted.
 */
export function apiVersionProblem(v: unknown): string | undefined {
  const supported = `this Tributary supports plugin API ${SUPPORTED_PLUGIN_API} (apiVersion ${PLUGIN_API_VERSION}, or "${PLUGIN_API_VERSION}.0" to "${SUPPORTED_PLUGIN_API}")`;
  if (v === undefined) return `missing \`apiVersion\`; ${supported}`;
  const p = parse(v);
  if (!p) return `apiVersion ${JSON.stringify(v)} is not a major (1) or "major.minor" ("1.0"); ${supported}`;
  if (p.major !== PLUGIN_API_VERSION || p.minor > PLUGIN_API_MINOR) {
    return `built for plugin API ${typeof v === 'string' ? v : `${p.major}`}, ${supported}`;
  }
  return undefined;
}

export function isSupportedApiVersion(v: unknown): boolean {
  return apiVersionProblem(v) === undefined;
}
