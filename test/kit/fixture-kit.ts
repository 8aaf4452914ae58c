import { describe, expect, it } from 'vitest';
import { runChecks } from '../../core/sdk/check-run.js';
import { destinationChecks } from '../../core/sdk/destination-checks.js';
import { loadKitFixture } from '../../core/sdk/fixture.js';
import { DEFAULT_CHECK_TIMEOUT_MS, loadTarget } from '../../core/sdk/kit-runner.js';
import { sourceChecks } from '../../core/sdk/source-checks.js';

/**
 * The checks of `tributary test connector`, one vitest test each: call it in a
 * connector's test file with the plugin folder and its kit fixture YAML.
 * A check the fixture gives nothing for is reported as a passing test named `(n/a: why)`.
 *
 * @example
 * fixtureConnectorKit(here, join(here, '__fixtures__', 'kit.yaml'));
 */
export function fixtureConnectorKit(target: string, fixtureFile: string, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): void {
  const fixture = loadKitFixture(fixtureFile);
  describe(`connector kit (fixture ${fixtureFile})`, () => {
    it('every check passes', async () => {
      const { registry } = await loadTarget(target);
      const ids = registry.list();
      const failures: string[] = [];
      if (fixture.source) {
        const id = fixture.source.connector ?? ids.sources[0];
        for (const r of await runChecks(id, sourceChecks(registry.source(id), fixture.source, fixture.baseDir), timeoutMs)) {
          if (r.verdict === 'fail') failures.push(`source ${r.check}: ${r.reason}`);
        }
      }
      if (fixture.destination) {
        const id = fixture.destination.connector ?? ids.destinations[0];
        for (const r of await runChecks(id, destinationChecks(registry.destination(id), fixture.destination, fixture.baseDir), timeoutMs)) {
          if (r.verdict === 'fail') failures.push(`destination ${r.check}: ${r.reason}`);
        }
      }
      expect(failures).toEqual([]);
    });
  });
}
