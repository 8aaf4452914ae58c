/**
 * Error classes, one per failure kind. Each carries the context a data engineer
 * needs to find the problem (sync, stream, record key, file and YAML path) so the
 * CLI can print one line without a stack trace.
 */
export interface ErrorContext {
  sync?: string;
  stream?: string;
  recordKey?: string;
  file?: string;
  line?: number;
  path?: string;
}

export class TributaryError extends Error {
  readonly context: ErrorContext;
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }

  /** One line for a terminal: where, then what. */
  describe(): string {
    const where: string[] = [];
    const c = this.context;
    if (c.file) where.push(c.line ? `${c.file}:${c.line}` : c.file);
    if (c.sync) where.push(`sync ${c.sync}`);
    if (c.stream) where.push(`stream ${c.stream}`);
    if (c.recordKey) where.push(`record ${c.recordKey}`);
    const prefix = where.length ? `${where.join(', ')}: ` : '';
    return `${prefix}${this.message}`;
  }
}

/** The YAML (or a plugin's config) is wrong. Never retried. */
export class ConfigError extends TributaryError {}

/** A server could not be reached or refused us. Usually retryable. */
export class ConnectionError extends TributaryError {
  readonly retryable: boolean;
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, context, options);
    this.retryable = options?.retryable ?? true;
  }
}

/**
 * A destination endpoint says it is gone for good (a webhook answering 410):
 * the engine disables the destination until `tributary deliver <name> --enable`.
 */
export class DestinationGoneError extends ConnectionError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, context, { ...options, retryable: false });
  }
}

/** One record is bad. The engine dead-letters it and continues. */
export class RecordError extends TributaryError {}

/** A plugin could not be loaded or broke its contract. */
export class PluginError extends TributaryError {}

export function errorMessage(err: unknown): string {
  if (err instanceof TributaryError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
