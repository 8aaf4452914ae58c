import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { ProbabilisticResolver } from './resolver.js';

export default definePlugin({
  name: 'resolver-probabilistic',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  resolvers: [new ProbabilisticResolver()],
});
