import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import plugin, { hashEmail } from './index.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';

const base: CanonicalRecord = {
  kind: 'identify', source: 's', stream: 'x', recordId: '1', observedAt: '2026-01-01T00:00:00.000Z',
  identifiers: [{ type: 'email', value: 'ann@x.com' }], traits: { firstName: 'Ann' },
};

describe('hash-email transform', () => {
  it('adds the sha256 of the normalized email and keeps the record otherwise', () => {
    const out = hashEmail.apply(base, {})!;
    expect(out.traits).toEqual({ firstName: 'Ann', emailSha256: createHash('sha256').update('ann@x.com').digest('hex') });
    expect(base.traits).toEqual({ firstName: 'Ann' });
  });

  it('dead-letters records without email when asked to', () => {
    const noEmail = { ...base, identifiers: [{ type: 'phone', value: '+14155552671' }] };
    expect(hashEmail.apply(noEmail, {})).toBe(noEmail);
    expect(() => hashEmail.apply(noEmail, { requireEmail: true })).toThrow('no email to hash');
  });

  it('is a valid plugin for this API version', () => {
    expect(plugin.apiVersion).toBe(PLUGIN_API_VERSION);
    expect(plugin.transforms?.map((t) => t.id)).toEqual(['hash-email']);
  });
});
