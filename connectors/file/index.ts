import { definePlugin } from '../../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { csvSource } from './csv-source.js';
import { fileDestination } from './destination.js';
import { jsonlSource } from './jsonl-source.js';
import { xlsxSource } from './xlsx-source.js';

export default definePlugin({
  name: 'file',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [csvSource, jsonlSource, xlsxSource],
  destinations: [fileDestination],
});
