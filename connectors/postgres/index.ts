import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { postgresDestination } from './destination.js';
import { postgresSource } from './source.js';

export default definePlugin({ name: 'postgres', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [postgresSource], destinations: [postgresDestination] });
