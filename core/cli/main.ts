#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { discoverCommand, deadLettersCommand, statusCommand, validateCommand } from './commands/inspect.js';
import { deliverCommand } from './commands/deliver.js';
import { profilesCommand } from './commands/profiles.js';
import { resolveCommand } from './commands/resolve.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { syncCommand } from './commands/sync.js';
import { warningsCommand } from './commands/warnings.js';
import { forgetCommand, unsuppressCommand } from './commands/forget.js';
import { retentionCommand } from './commands/retention.js';
import { testCommand } from './commands/test-connector.js';
import { newCommand } from './commands/new-connector.js';
import { schemaCommand } from './commands/schema.js';
import { workerCommand } from './commands/worker.js';
import { defaultConfigFile } from './shared.js';

// `npm run tributary -- <args>` runs in the clone's folder; the paths the user typed are relative to where they typed them.
if (process.env.npm_lifecycle_event === 'tributary' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

// `tributary profiles export | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('tributary')
  .description('Pull customer data from many sources, unify it into profiles, push them where they are used.')
  .option('-c, --config <file>', 'config file (default: $TRIBUTARY_CONFIG, ./tributary.yaml, or config/example.yaml)', defaultConfigFile())
  .option('-v, --verbose', 'debug logs and stack traces on errors')
  .option('--log-level <level>', 'debug, info, warn or error')
  .option('--json-logs', 'log one JSON object per line on stderr')
  .showHelpAfterError();

program.addCommand(validateCommand());
program.addCommand(discoverCommand());
program.addCommand(syncCommand());
program.addCommand(deliverCommand());
program.addCommand(runCommand());
program.addCommand(serveCommand());
program.addCommand(statusCommand());
program.addCommand(profilesCommand());
program.addCommand(resolveCommand());
program.addCommand(deadLettersCommand());
program.addCommand(warningsCommand());
program.addCommand(forgetCommand());
program.addCommand(unsuppressCommand());
program.addCommand(retentionCommand());
program.addCommand(testCommand());
program.addCommand(newCommand());
program.addCommand(schemaCommand());
program.addCommand(workerCommand());

await program.parseAsync(process.argv);
