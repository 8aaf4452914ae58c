import { describe, expect, it } from 'vitest';
import { newProfileId } from './ids.js';

describe('newProfileId', () => {
  it('has the documented shape, sorts in creation order and does not repeat across pool refills', () => {
    // 5,000 ids cross the random pool's refill (2,048 ids per block) twice.
    const ids = Array.from({ length: 5000 }, () => newProfileId());
    for (const id of ids) expect(id).toMatch(/^prof_[0-9a-z]{9}[0-9a-z]{4}[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Ids made in one millisecond differ by the counter, so order holds within it too (barring the counter's wrap at 36^4).
    expect([...ids].sort()).toEqual(ids);
    // The random parts are not one block repeated after a refill.
    const randoms = ids.map((id) => id.slice(-12));
    expect(new Set(randoms).size).toBe(randoms.length);
  });
});
