import { definePlugin } from '../../../../plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../../../plugin/types.js';
import { memoryDestination, memorySource } from '../../memory-connectors.js';

export default definePlugin({
  name: 'kit-fixture-dup-on-resume',
  version: '0.0.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [memorySource('mem-dup-on-resume', 'dup-on-resume')],
  destinations: [memoryDestination('mem-dup-on-resume-out', 'none')],
});
