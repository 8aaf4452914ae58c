import { definePlugin } from '../../../../plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../../../plugin/types.js';
import { memoryDestination, memorySource } from '../../memory-connectors.js';

export default definePlugin({
  name: 'kit-fixture-never-yields',
  version: '0.0.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [memorySource('mem-never-yields', 'never-yields')],
  destinations: [memoryDestination('mem-never-yields-out', 'never-returns')],
});
