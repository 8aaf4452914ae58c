import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../errors.js';
import { formatKitReport, runKit } from '../../sdk/kit-runner.js';
import { loadKitFixture } from '../../sdk/fixture.js';
import { globals, reportError } from '../shared.js';

function timeoutMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--timeout must be a whole number of milliseconds, got "${value}"`);
  return n;
}

/** `tributary test connector <path|package|id> --config <fixture.yaml>`: the connector kit outside vitest. */
export function testCommand(): Command {
  const test = new Command('test').description('Test a plugin');
  test
    .command('connector')
    .description('Run the connector kit (check, discover, reads, resume; writes, errors, deletes) against a plugin and report each check')
    .argument('<target>', 'a built-in connector id, a plugin folder or file, or an installed npm package')
    // `--config` is the program's global option (commander gives it to the root), so the fixture is read from there.
    .addHelpText('after', '\nOptions of the program:\n  -c, --config <fixture>  kit fixture YAML: the connector config and what its data holds (required; see core/sdk/fixture.ts)')
    .option('--json', 'print the report as JSON')
    .option('--timeout <ms>', 'deadline for each check', timeoutMs)
    .action(async (target: string, opts: { json?: boolean; timeout?: number }, cmd: Command) => {
      try {
        let root = cmd;
        while (root.parent) root = root.parent;
        if (root.getOptionValueSource('config') !== 'cli') throw new ConfigError('test connector needs --config <fixture.yaml> (the connector config and what its data holds)');
        const report = await runKit(target, loadKitFixture(String(root.opts().config)), { timeoutMs: opts.timeout });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatKitReport(report));
        if (!report.passed) process.exitCode = 1;
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
  return test;
}
