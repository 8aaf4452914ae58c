import { relative } from 'node:path';
import { Command } from 'commander';
import { scaffoldConnector } from '../../sdk/scaffold.js';
import { globals, reportError } from '../shared.js';

/** `tributary new connector <name>`: scaffold a plugin folder that passes the kit out of the box. */
export function newCommand(): Command {
  const cmd = new Command('new').description('Start something new from a template');
  cmd
    .command('connector')
    .description('Scaffold a connector plugin (definition, config, source/destination, fixtures, tests, README, package.json)')
    .argument('<name>', 'the connector id: kebab-case, e.g. my-crm')
    .option('--source', 'include a source (the default when neither is given)')
    .option('--destination', 'include a destination')
    .option('--dir <folder>', 'parent folder', 'plugins')
    .action((name: string, opts: { source?: boolean; destination?: boolean; dir: string }, sub: Command) => {
      try {
        const { folder, files } = scaffoldConnector({ name, ...opts });
        const rel = relative(process.cwd(), folder) || '.';
        process.stdout.write(`created ${rel}/ (${files.join(', ')})\n`);
        process.stdout.write(`next: npx vitest run ${rel}   then edit the TODO(${name}) parts\n`);
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
  return cmd;
}
