import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { webhookDestination } from './destination.js';
import { webhookSource } from './inbound-source.js';

export default definePlugin({ name: 'webhook', version: '0.1.0', apiVersion: PLUGIN_API_VERSION, sources: [webhookSource], destinations: [webhookDestination] });
