import { z } from 'zod';
import { CURSOR_TYPES, parseHorizon } from './cursor.js';

/**
 * Text encodings a file may be written in. Node's binary-to-text encodings
 * (hex, base64, base64url) are left out: they describe bytes, not characters,
 * so a CSV "in hex" is not a thing.
 */
export const TEXT_ENCODINGS = ['utf8', 'utf-8', 'utf16le', 'utf-16le', 'ucs2', 'ucs-2', 'latin1', 'binary', 'ascii'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** 4 Mi characters: a record (CSV) or line (JSONL) longer than this is reported as an error, which bounds memory. */
export const DEFAULT_MAX_RECORD_SIZE = 4 * 1024 * 1024;

/** Connector config shared by the `csv`, `jsonl` and `xlsx` sources. */
export const fileSourceConfigSchema = z.strictObject({
  path: z
    .string()
    .optional()
    .describe(
      'Optional base directory (or glob) for the files, relative to the config file. Relative stream paths are resolved against it (its fixed part for a glob); ' +
        '`discover` lists one stream per file it matches. Empty or unset: the config file folder, and discover lists nothing.',
    ),
  checkpointEvery: z
    .number()
    .int()
    .min(1)
    .default(5000)
    .describe('Yield a resumable state message every N rows (the file and the row offset already consumed).'),
});
export type FileSourceConfig = z.infer<typeof fileSourceConfigSchema>;

const encoding = z.enum(TEXT_ENCODINGS).default('utf8').describe('Text encoding of the file; a byte order mark is always stripped.');
const path = z
  .string()
  .min(1, 'expected a file path or a glob such as ./drops/*.csv')
  .describe('A file path or a glob (`*`, `?`, `**`), relative to the connector `path`, else to the config file folder.');
const skipEmptyLines = z.boolean().default(true).describe('Ignore lines with no characters at all.');
const maxRecordSize = z
  .number()
  .int()
  .min(1024)
  .default(DEFAULT_MAX_RECORD_SIZE)
  .describe('Longest record (characters) read whole; longer ones are reported as errors. Bounds memory on a broken quote.');

const cursorType = z
  .enum(CURSOR_TYPES)
  .default('auto')
  .describe(
    'How the stream cursor column is read: number, timestamp (ISO-8601), string, or auto (the kind of the first number or timestamp seen, then kept in the state). ' +
      'A value that does not parse as that type is a warning and never moves the state.',
  );
const cursorHorizon = z
  .string()
  .default('1d')
  .refine((v) => {
    try {
      parseHorizon(v);
      return true;
    } catch {
      return false;
    }
  }, 'expected a duration such as 1d, 12h, 30m, 90s, or "none"')
  .describe('A timestamp cursor value later than now plus this (1d, 12h, 30m, 90s, or none) is a warning and never moves the state.');

/** Per-stream options of the `csv` source. */
export const csvStreamSchema = z
  .strictObject({
    path,
    delimiter: z.string().min(1).default(',').describe('Field separator, one or more characters (";", "\\t", "|").'),
    quote: z.string().max(1).default('"').describe('Quote character; "" turns quoting off.'),
    encoding,
    header: z
      .union([z.literal(true), z.array(z.string().min(1)).min(1)])
      .default(true)
      .describe('true: the first row holds the column names. A list: the column names, and every row is data.'),
    skipEmptyLines,
    relaxColumnCount: z
      .boolean()
      .default(false)
      .describe('Accept rows with fewer or more fields than columns (missing ones are absent, extra ones dropped).'),
    maxRecordSize,
    cursorType,
    cursorHorizon,
  })
  .superRefine((c, ctx) => {
    if (/[\r\n]/.test(c.delimiter)) ctx.addIssue({ code: 'custom', path: ['delimiter'], message: 'a delimiter cannot contain a line break' });
    if (c.quote && c.delimiter.includes(c.quote)) ctx.addIssue({ code: 'custom', path: ['quote'], message: 'the quote character cannot be part of the delimiter' });
    if (/[\r\n]/.test(c.quote)) ctx.addIssue({ code: 'custom', path: ['quote'], message: 'a quote cannot be a line break' });
  });
export type CsvStreamConfig = z.infer<typeof csvStreamSchema>;

/** Per-stream options of the `jsonl` source. */
export const jsonlStreamSchema = z.strictObject({ path, encoding, skipEmptyLines, maxRecordSize, cursorType, cursorHorizon });
export type JsonlStreamConfig = z.infer<typeof jsonlStreamSchema>;

/** Per-stream options of the `xlsx` source. */
export const xlsxStreamSchema = z.strictObject({
  path,
  sheet: z
    .union([z.string().min(1), z.number().int().min(1)])
    .optional()
    .describe('The sheet to read: its name, or its 1-based position among the tabs. Default: the first tab.'),
  headerRow: z.number().int().min(1).default(1).describe('1-based row holding the column names; rows above it are ignored.'),
  mergedHeader: z
    .enum(['fill', 'blank'])
    .default('fill')
    .describe(
      'fill: an empty header cell right of a named one is named after it (Address, Address_2): how a merged header cell reads. blank: empty header cells are column_N.',
    ),
  cellErrors: z
    .enum(['dead-letter', 'omit'])
    .default('dead-letter')
    .describe('A cell holding an error (#DIV/0!, #REF!): dead-letter the row naming file!sheet!cell, or omit the field with a counted warning.'),
  cursorType,
  cursorHorizon,
});
export type XlsxStreamConfig = z.infer<typeof xlsxStreamSchema>;

/** Config of the `file` destination. */
export const fileDestinationConfigSchema = z.strictObject({
  path: z
    .string()
    .min(1, 'expected the file to write, e.g. ./out/profiles.jsonl')
    .describe("Target file; a relative path resolves against the config file's directory."),
  format: z.enum(['jsonl', 'csv']).describe('jsonl: one ProfileDocument per line. csv: one flat row per profile (see README).'),
  createDirectories: z
    .boolean()
    .default(true)
    .describe('Create missing parent directories of the target (`profiles export --out` sets this to false).'),
});
export type FileDestinationConfig = z.infer<typeof fileDestinationConfigSchema>;
