import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { mysqlDestination } from './destination.js';
import { mysqlSource } from './source.js';

export default definePlugin({ name: 'mysql', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [mysqlSource], destinations: [mysqlDestination] });
