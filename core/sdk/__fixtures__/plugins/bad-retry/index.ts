import { definePlugin } from '../../../../plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../../../plugin/types.js';
import { memoryDestination, memorySource } from '../../memory-connectors.js';

export default definePlugin({
  name: 'kit-fixture-bad-retry',
  version: '0.0.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [memorySource('mem-bad-retry', 'none')],
  destinations: [memoryDestination('mem-bad-retry-out', 'retryable-as-permanent')],
});
