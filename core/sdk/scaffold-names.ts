import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Connector ids are stable, kebab-case and short: they appear in every user's YAML. */
export const CONNECTOR_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface ScaffoldNames {
  id: string;
  /** `myApi` for `my-api`: the prefix of exported values. */
  camel: string;
  /** Module specifiers the templates import: relative paths into this checkout's `core/`, or the package's entry point outside one. */
  typesImport: string;
  defineImport: string;
  kitImport: string;
  fixtureImport: string;
}

/** One line saying what is wrong with a name, or undefined when it is a good connector id. */
export function nameProblem(name: string): string | undefined {
  if (!CONNECTOR_ID.test(name)) return `"${name}" is not a connector id: use lower-case letters, digits and single dashes, starting with a letter (e.g. my-crm)`;
  if (name.length > 40) return `"${name}" is longer than 40 characters`;
  return undefined;
}

/** The folder holding `core/plugin/types.ts` at or above `dir`, when the plugin is scaffolded inside a Tributary checkout. */
function repoRootAbove(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'core', 'plugin', 'types.ts'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

export function scaffoldNames(id: string, targetDir: string): ScaffoldNames {
  const camel = id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const root = repoRootAbove(dirname(targetDir));
  const rel = (p: string) => {
    const r = relative(targetDir, p).split(sep).join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  if (root) {
    const core = rel(join(root, 'core'));
    return {
      id,
      camel,
      typesImport: `${core}/plugin/types.js`,
      defineImport: `${core}/plugin/define-plugin.js`,
      kitImport: `${core}/sdk/kit-runner.js`,
      fixtureImport: `${core}/sdk/fixture.js`,
    };
  }
  // Outside a checkout: the package's public contract module (issue 14 item 8).
  const pub = 'tributary/plugin';
  return { id, camel, typesImport: pub, defineImport: pub, kitImport: pub, fixtureImport: pub };
}
