import { z } from 'zod';
import { DEFAULT_MAX_RECORD_SIZE, xlsxStreamSchema } from '../file/config.js';

/** A stream path must stay under the connector's remote directory. */
export function unsafePathReason(p: string): string | undefined {
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return 'is absolute (stream paths are relative to the connector path)';
  if (p.split(/[\\/]/).includes('..')) return 'contains ".." (stream paths stay under the connector path)';
  return undefined;
}

/** Per-stream options shared by the `sftp` and `ftp` sources. */
export const remoteStreamSchema = z
  .strictObject({
    path: z
      .string()
      .min(1, 'expected a file or a glob such as incoming/*.csv')
      .describe('A file or a glob (`*`, `?` in the last segment only), relative to the connector `path`.'),
    format: z
      .enum(['csv', 'jsonl', 'xlsx'])
      .optional()
      .describe('csv, jsonl or xlsx; by default from the file extension (.jsonl/.ndjson are jsonl, .xlsx/.xlsm xlsx, anything else csv).'),
    delimiter: z.string().min(1).default(',').describe('CSV field separator.'),
    quote: z.string().max(1).default('"').describe('CSV quote character; "" turns quoting off.'),
    header: z
      .union([z.literal(true), z.array(z.string().min(1)).min(1)])
      .default(true)
      .describe('true: the first CSV row holds the column names. A list: the column names, and every row is data.'),
    encoding: z
      .enum(['utf8', 'utf-8', 'latin1', 'ascii'])
      .default('utf8')
      .transform((e) => (e === 'utf-8' ? 'utf8' : e))
      .describe('Text encoding (byte-transparent ones only, so a checkpoint can name a byte offset).'),
    skipEmptyLines: z.boolean().default(true).describe('Ignore empty lines.'),
    relaxColumnCount: z.boolean().default(false).describe('Accept CSV rows with fewer or more fields than columns.'),
    maxRecordSize: z.number().int().min(1024).default(DEFAULT_MAX_RECORD_SIZE).describe('Longest record (characters) read whole.'),
    // XLSX options: the same as the local `xlsx` source (connectors/file/config.ts).
    sheet: xlsxStreamSchema.shape.sheet,
    headerRow: xlsxStreamSchema.shape.headerRow,
    mergedHeader: xlsxStreamSchema.shape.mergedHeader,
    cellErrors: xlsxStreamSchema.shape.cellErrors,
  })
  .superRefine((c, ctx) => {
    const bad = unsafePathReason(c.path);
    if (bad) ctx.addIssue({ code: 'custom', path: ['path'], message: `path ${JSON.stringify(c.path)} ${bad}` });
    if (c.path.split('/').slice(0, -1).some((s) => /[*?]/.test(s))) ctx.addIssue({ code: 'custom', path: ['path'], message: 'wildcards are allowed in the file name only' });
  });
export type RemoteStreamConfig = z.infer<typeof remoteStreamSchema>;

/** Connector options shared by the remote file sources (merged into each connector's schema). */
export const remoteFileOptions = {
  path: z.string().min(1).default('.').describe('Remote directory the stream paths are relative to.'),
  ready: z
    .enum(['stable-size', 'marker', 'any'])
    .default('stable-size')
    .describe(
      'When a file counts as fully uploaded: stable-size (same size and mtime in two listings `settleMs` apart), ' +
        'marker (a file `<name>.done` exists next to it), any (read at once).',
    ),
  settleMs: z.number().int().min(0).default(2000).describe('Pause between the two listings of `ready: stable-size`.'),
  onChange: z
    .enum(['skip', 'reread', 'append'])
    .default('reread')
    .describe('A file already read that changed (size or mtime): skip it, reread it whole, or read only what was appended.'),
  archiveDir: z
    .string()
    .min(1)
    .optional()
    .describe('Move a file here (relative to `path` or absolute) once its last row is committed; done at the start of the next read.'),
  checkpointEvery: z.number().int().min(1).default(5000).describe('Yield a resumable state every N rows.'),
  reconnectAttempts: z.number().int().min(0).default(5).describe('Reconnects after a dropped connection before the run fails.'),
  reconnectBaseMs: z.number().int().min(0).default(500).describe('First reconnect delay; doubles on each attempt.'),
  spool: z
    .boolean()
    .default(false)
    .describe(
      'Download each file to a temporary file (OS temp folder) and parse it from disk, so a slow parser does not hold the server connection; ' +
        'the temporary file is removed once the file is read or on failure. Default: parse straight from the socket.',
    ),
};
