import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { ProbabilisticResolver, RESOLVER_ID } from './resolver.js';
import { loadProbabilisticConfig } from './train.js';

export default definePlugin({
  name: 'resolver-probabilistic',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  resolvers: [new ProbabilisticResolver()],
  // At boot, not only at `resolve --train`: a comparison or blocking rule on a trait no stream maps names its YAML line.
  validateConfig: (loaded) => {
    if (loaded.config.resolution.resolver === RESOLVER_ID) loadProbabilisticConfig(loaded);
  },
});
