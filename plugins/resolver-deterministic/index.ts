import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { DeterministicResolver } from '../../core/resolution/deterministic.js';

export default definePlugin({
  name: 'resolver-deterministic',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  resolvers: [new DeterministicResolver()],
});
