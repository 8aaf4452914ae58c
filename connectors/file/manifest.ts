import type { PluginManifest } from '../../core/plugin/loader-manifest.js';

/** What this folder provides, read at start without importing its code (core/plugin/loader-manifest.ts). */
export default { name: 'file', sources: ['csv', 'jsonl', 'xlsx'], destinations: ['file'] } satisfies PluginManifest;
