import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { mongodbDestination } from './destination.js';
import { mongodbSource } from './source.js';

export default definePlugin({ name: 'mongodb', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [mongodbSource], destinations: [mongodbDestination] });
