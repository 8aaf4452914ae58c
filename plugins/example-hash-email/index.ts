import { createHash } from 'node:crypto';
import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import type { Transform } from '../../core/engine/transform.js';
import { RecordError } from '../../core/errors.js';

export interface HashEmailOptions {
  /** Trait to write the hash to (default emailSha256). */
  trait?: string;
  /** Drop records without an email instead of passing them through. */
  requireEmail?: boolean;
}

/**
 * Example third-party transform: adds the SHA-256 of the normalized email as a
 * trait, the form ad platforms match audiences on. Use it in a stream:
 * `transforms: [{ use: hash-email, options: { trait: emailSha256 } }]`.
 */
export const hashEmail: Transform<HashEmailOptions> = {
  id: 'hash-email',
  apply(record, options) {
    const email = record.identifiers.find((i) => i.type === 'email')?.value;
    if (!email) {
      if (options.requireEmail) throw new RecordError('no email to hash');
      return record;
    }
    const trait = options.trait ?? 'emailSha256';
    return { ...record, traits: { ...record.traits, [trait]: createHash('sha256').update(email).digest('hex') } };
  },
};

export default definePlugin({
  name: 'example-hash-email',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  transforms: [hashEmail],
});
