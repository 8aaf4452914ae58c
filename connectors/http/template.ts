/**
 * A tiny template replacer for request parameters: `{{ state.cursor }}`,
 * `{{ env.NAME }}`, `{{ now }}`. No expressions, no eval.
 */
const TAG = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^(state\.cursor|now|env\.[A-Za-z_][A-Za-z0-9_]*)$/;

export interface TemplateVars {
  /** The lower bound of this run, formatted as the API expects; undefined on a first run without `start`. */
  cursor?: string;
  env: Record<string, string | undefined>;
  now: string;
}

/** What is wrong with a template, for the config schema. */
export function templateProblems(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(TAG)) {
    if (!NAME.test(m[1])) out.push(`unknown template "{{ ${m[1]} }}": use {{ state.cursor }}, {{ env.NAME }} or {{ now }}`);
  }
  return out;
}

export class MissingEnvError extends Error {}

/**
 * The rendered string, or undefined when it uses `{{ state.cursor }}` and there is
 * none yet: the caller leaves that parameter out. A missing environment variable
 * throws: sending a request without it would fail in a less clear way.
 */
export function render(s: string, vars: TemplateVars): string | undefined {
  let missing = false;
  const out = s.replace(TAG, (_, name: string) => {
    if (name === 'now') return vars.now;
    if (name === 'state.cursor') {
      if (vars.cursor === undefined) missing = true;
      return vars.cursor ?? '';
    }
    const key = name.slice(4);
    const v = vars.env[key];
    if (v === undefined) throw new MissingEnvError(`environment variable ${key} is not set (used as {{ env.${key} }})`);
    return v;
  });
  return missing ? undefined : out;
}

/** Every template of a record rendered; entries that render undefined are left out. */
export function renderAll(t: Record<string, string>, vars: TemplateVars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) {
    const r = render(v, vars);
    if (r !== undefined) out[k] = r;
  }
  return out;
}

/** A JSON body with its string values rendered; keys whose value renders undefined are left out. */
export function renderBody(v: unknown, vars: TemplateVars): unknown {
  if (typeof v === 'string') return render(v, vars);
  if (Array.isArray(v)) return v.map((x) => renderBody(x, vars)).filter((x) => x !== undefined);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = renderBody(x, vars);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return v;
}
