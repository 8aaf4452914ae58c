import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { febrlTruth, readFebrl } from '../../bench/quality/febrl.js';
import { deterministicFebrl, FEBRL_CONFIG, loadProbabilisticConfig, probabilisticFebrl } from '../../bench/quality/febrl-score.js';

// The copy in test/fixtures/febrl (see its README), found from this file, not from the working directory.
const dir = [join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'febrl')].find((d) => existsSync(join(d, 'febrl_dataset1.csv')));

describe('FEBRL 1 with the one shared configuration', () => {
  it('finds the FEBRL data beside the repository', () => {
    expect(dir, 'FEBRL files not found in test/fixtures/febrl').toBeDefined();
  });

  it('links duplicates with pairwise F1 >= 0.95 and beats the exact-identifier resolver', async () => {
    const rows = readFebrl(join(dir!, 'febrl_dataset1.csv'));
    expect(febrlTruth(rows).size).toBe(1000);
    const { scores, outcome } = probabilisticFebrl(rows, loadProbabilisticConfig(FEBRL_CONFIG));
    expect(outcome.model.converged).toBe(true);
    expect(scores.pairwise.precision).toBeGreaterThanOrEqual(0.99);
    expect(scores.pairwise.f1).toBeGreaterThanOrEqual(0.95);
    expect(scores.predicted.largest).toBeLessThanOrEqual(scores.truth.largest);
    const det = await deterministicFebrl(rows);
    expect(scores.pairwise.recall).toBeGreaterThan(det.pairwise.recall);
  }, 120_000);
});
