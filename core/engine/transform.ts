import type { CanonicalRecord } from '../schema/canonical.js';

export type { Transform } from '../plugin/transform.js';
import type { Transform } from '../plugin/transform.js';
