import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { trackingSource } from './source.js';

export default definePlugin({ name: 'tracking', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [trackingSource] });
