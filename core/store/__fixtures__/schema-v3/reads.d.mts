import type { ProfileStore } from '../../types.js';
import type { exportSubject } from '../../../privacy/export-subject.js';

export function readEverything(store: ProfileStore, subject: typeof exportSubject): Promise<Record<string, unknown>>;
