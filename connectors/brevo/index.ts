import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { brevoDestination } from './destination.js';
import { brevoSource } from './source.js';

export default definePlugin({ name: 'brevo', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [brevoSource], destinations: [brevoDestination] });
