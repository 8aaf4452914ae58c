import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { ftpSource } from './source.js';

export default definePlugin({
  name: 'ftp',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [ftpSource],
});
