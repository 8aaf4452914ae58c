import type { Logger } from '../plugin/types.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Replaces every known secret value, and any password in a URL, with `***`. */
export class Redactor {
  private sorted: string[] = [];
  private seen = -1;
  /** A Set is read live: secrets found after the logger was made (connector secret fields) are redacted too. */
  constructor(private readonly source: Iterable<string>) {}

  private get secrets(): string[] {
    const size = this.source instanceof Set ? this.source.size : -2;
    if (size !== this.seen || size === -2) {
      this.sorted = [...this.source].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
      this.seen = size;
    }
    return this.sorted;
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    // The user may be empty (`redis://:password@host`).
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, '$1***@');
  }

  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /pass|secret|token|key$/i.test(k) ? '***' : this.redactValue(v)]));
    }
    return value;
  }
}

export interface ConsoleLoggerOptions {
  level: LogLevel;
  json: boolean;
  redactor: Redactor;
  stream?: NodeJS.WritableStream;
  bindings?: Record<string, unknown>;
}

/** Logs to stderr (stdout is kept for command output), one line per entry, secrets redacted. */
export function consoleLogger(opts: ConsoleLoggerOptions): Logger & { child(bindings: Record<string, unknown>): Logger } {
  const out = opts.stream ?? process.stderr;
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[opts.level]) return;
    const all = { ...opts.bindings, ...fields };
    const safeMessage = opts.redactor.redact(message);
    const safeFields = opts.redactor.redactValue(all) as Record<string, unknown>;
    if (opts.json) {
      out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: safeMessage, ...safeFields })}\n`);
    } else {
      const extra = Object.entries(safeFields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${level.padEnd(5)} ${safeMessage}${extra ? ` ${extra}` : ''}\n`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (bindings) => consoleLogger({ ...opts, bindings: { ...opts.bindings, ...bindings } }),
  };
}
