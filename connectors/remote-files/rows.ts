import type { FileRow } from '../file/read-files.js';
import { csvTextRows, jsonlTextRows } from '../file/text-rows.js';
import type { Logger } from '../../core/plugin/types.js';
import type { RemoteStreamConfig } from './config.js';

export interface RowsInput {
  chunks: AsyncIterable<string>;
  config: RemoteStreamConfig;
  /** CSV columns already known (a resumed file starts after its header). */
  columns?: string[];
  /** Called once when a CSV header row is read. */
  onColumns?(columns: string[]): void;
  display: string;
  logger: Logger;
}

/** Rows of a remote CSV text: the same rules as the `csv` source (connectors/file/text-rows.ts). */
export function csvRows(input: RowsInput): AsyncGenerator<FileRow> {
  return csvTextRows(input.chunks, { ...input.config, columns: input.columns, onColumns: input.onColumns, logger: input.logger, display: input.display });
}

/** Rows of a remote JSON Lines text: the same rules as the `jsonl` source. */
export function jsonlRows(input: RowsInput): AsyncGenerator<FileRow> {
  return jsonlTextRows(input.chunks, input.config);
}
