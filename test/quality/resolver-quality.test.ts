import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../core/config/load.js';
import { resolutionSchema } from '../../core/config/schema.js';
import { generatePeople } from '../../bench/quality/generate.js';
import { scoreResolver } from '../../bench/quality/score.js';

// The quality targets of the identity-resolution issue, on generated data with
// known truth and the default rules: few false merges, most reachable pairs found.
describe('default resolver quality on generated multi-source data', () => {
  const { config } = loadConfigFile('config/example.yaml');

  for (const seed of [42, 7]) {
    it(`seed ${seed}: pairwise precision >= 0.995, reachable recall >= 0.95, no profile larger than the largest person`, async () => {
      const ds = generatePeople({ people: 3000, seed });
      const r = await scoreResolver(ds, config, resolutionSchema.parse({}));
      expect(r.scores.pairwise.precision).toBeGreaterThanOrEqual(0.995);
      expect(r.reachableRecall).toBeGreaterThanOrEqual(0.95);
      expect(r.scores.predicted.largest).toBeLessThanOrEqual(r.largestTruePerson);
    });
  }

  it('without the guards the traps do glue strangers together (the test can fail)', async () => {
    const ds = generatePeople({ people: 3000, seed: 42 });
    const r = await scoreResolver(ds, config, resolutionSchema.parse({ nameGuard: false, useDefaultBlocklist: false, limits: {}, genericThreshold: 1000 }));
    expect(r.scores.pairwise.precision).toBeLessThan(0.9);
    expect(r.scores.predicted.largest).toBeGreaterThan(r.largestTruePerson);
  });
});
