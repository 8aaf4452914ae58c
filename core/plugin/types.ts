import type { z } from 'zod';
import type { InboundRoute, InboxReader } from '../serve/contract.js';

/** The plugin API version this engine speaks. A plugin built for another major is refused. */
export const PLUGIN_API_VERSION = 1;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Metrics {
  count(name: string, value?: number, tags?: Record<string, string>): void;
}

/**
 * Everything a connector may use, passed explicitly to each call.
 * `config` is the connector's own config, validated by its `spec.config` schema
 * with `${ENV}` and `${file:...}` references already resolved.
 */
export interface ConnectorContext<C = unknown> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly signal: AbortSignal;
  /**
   * The directory relative paths in the config resolve against: the config
   * file's folder, so a config behaves the same from any working directory.
   * Unset (one-off calls such as `profiles export --out`): the working directory.
   */
  readonly baseDir?: string;
  /**
   * The store's inbox of pushed events (webhooks, tracking API), for sources
   * that drain it. Set by the engine for sync runs; unset in one-off calls.
   */
  readonly inbox?: InboxReader;
}

export interface CheckResult {
  ok: boolean;
  /** One line: what is wrong and where (host, file, table). */
  message?: string;
}

/** JSON-schema-ish field description returned by `discover`. */
export interface FieldSchema {
  type: Array<'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null'>;
  format?: string;
  /** The type as the source names it (DECIMAL(10,2), timestamptz, ObjectId). */
  sourceType?: string;
}

export type SyncMode = 'full_refresh' | 'incremental';

export interface StreamDescriptor {
  name: string;
  fields: Record<string, FieldSchema>;
  primaryKey: string[];
  /** Fields that only grow, usable as an incremental cursor. */
  cursorCandidates: string[];
  supportedModes: SyncMode[];
}

/**
 * A stream as the user configured it. `config` holds the stream's own connector
 * options (a table, a query, a file glob), validated by `spec.stream` if the
 * connector declares one.
 */
export interface ConfiguredStream<S = unknown> {
  name: string;
  mode: SyncMode;
  cursorField?: string;
  primaryKey?: string[];
  config: S;
  /**
   * The source fields the stream's mapping reads (as written in YAML; a dotted
   * name is a column or a path into one). Given to `check` by `validate --check`:
   * a connector that knows its columns before reading should report a mapped
   * field it does not have, e.g. `stream orders: column "emial" does not exist`.
   */
  fields?: string[];
}

/** A stream's state, as the connector last described it. Opaque to the engine, must be JSON. */
export type StreamState = { [key: string]: JsonValue };

export interface RecordMessage {
  type: 'record';
  stream: string;
  data: Record<string, unknown>;
  /** Where the record came from, for dead letters and error messages (file:line, table). */
  origin?: string;
}

/**
 * "Everything before this message is read; if the run stops after this point,
 * resume from `state`". The engine commits it together with the records before it.
 */
export interface StateMessage {
  type: 'state';
  stream: string;
  state: StreamState;
}

/** A record the source itself could not parse (a malformed CSV row). The engine dead-letters it. */
export interface ErrorMessage {
  type: 'error';
  stream: string;
  reason: string;
  origin?: string;
  raw?: string;
}

export type SourceMessage = RecordMessage | StateMessage | ErrorMessage;

export interface ConnectorSpec<C, S = unknown> {
  /** Connector config (one per source/destination in YAML). */
  config: z.ZodType<C>;
  /** Per-stream config, for sources whose streams need options (table, query, path). */
  stream?: z.ZodType<S>;
  /** Dotted paths into `config` that hold secrets; they are redacted in logs and errors. */
  secrets?: string[];
}

/**
 * A source connector. Implement one to pull records from a new system.
 *
 * The contract: `check` never throws for a bad connection (it returns `ok: false`
 * and one line); `discover` lists streams; `read` yields records and, every so
 * often, a `state` message saying where to resume. A connector never stores
 * state itself: the engine saves it in the same transaction as the records.
 *
 * @example
 * const source: SourceConnector<{ url: string }> = {
 *   id: 'my-api', kind: 'source',
 *   spec: { config: z.object({ url: z.string() }) },
 *   async check(ctx) { return { ok: true }; },
 *   async discover(ctx) { return [{ name: 'users', fields: {}, primaryKey: ['id'], cursorCandidates: [], supportedModes: ['full_refresh'] }]; },
 *   async *read(ctx, streams, state) { yield { type: 'record', stream: 'users', data: { id: 1 } }; },
 * };
 */
export interface SourceConnector<C = any, S = any> {
  readonly id: string;
  readonly kind: 'source';
  readonly spec: ConnectorSpec<C, S>;
  /**
   * Set when streams can be incremental with no cursor field (files are
   * incremental by file). Otherwise an incremental stream must name a cursor.
   */
  readonly incrementalWithoutCursor?: boolean;
  /**
   * Set for a source whose `read` drains `ctx.inbox` (the tracking API, webhooks)
   * and checkpoints `{ inboxSeq }`. The engine then deletes the inbox rows a
   * committed checkpoint covers, and does not refuse a mapped field that the
   * first batch lacks (pushed payloads vary; a missing trait is not a YAML typo).
   */
  readonly drainsInbox?: boolean;
  /**
   * Can the source be read? `streams`, when given, are the configured streams, for
   * connectors whose streams name locations (files, tables) worth checking up front.
   */
  check(ctx: ConnectorContext<C>, streams?: ConfiguredStream<S>[]): Promise<CheckResult>;
  /** What can be read. `streams`, when given, are the configured ones (a file source describes their files). */
  discover(ctx: ConnectorContext<C>, streams?: ConfiguredStream<S>[]): Promise<StreamDescriptor[]>;
  read(
    ctx: ConnectorContext<C>,
    streams: ConfiguredStream<S>[],
    state: Record<string, StreamState | undefined>,
  ): AsyncIterable<SourceMessage>;
  /**
   * Implement for a source that receives pushed data (a webhook): the HTTP
   * routes `tributary serve` mounts for it. A handler verifies the request,
   * appends its events to the inbox and answers; `read` drains the inbox
   * (`ctx.inbox`) like any other source, checkpointing the inbox seq.
   */
  inbound?(ctx: ConnectorContext<C>, streams: ConfiguredStream<S>[]): InboundRoute[];
}

/** One profile as destinations and `profiles export` see it. This shape is a public contract. */
export interface ProfileDocument {
  id: string;
  identifiers: Array<{ type: string; value: string; namespace?: string }>;
  traits: Record<string, unknown>;
  computed?: Record<string, unknown>;
  records: Array<{ source: string; stream: string; recordId: string }>;
  aliases?: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * A request budget as a vendor publishes it ("10 requests per second, 36,000 per hour").
 * The delivery engine keeps one token bucket per window and waits for a token
 * before each request, so the vendor's 429 is the exception, not the control loop.
 */
export interface RateBudget {
  perSecond?: number;
  perMinute?: number;
  perHour?: number;
}

/**
 * Handed to destination connectors in `ctx.rate`: call `take(budget)` before every
 * request to the vendor. `budget` names one of the connector's `budgets`
 * ('default' when it declares one budget); unknown names are not limited.
 * `pause` tells every later `take` to wait (a 429 with a reset header): the
 * engine honours it for the whole destination, not only for one batch.
 */
export interface RateGate {
  take(budget?: string, tokens?: number): Promise<void>;
  pause(ms: number, budget?: string): void;
}

/** What one `write` call may carry. The engine packs batches to fit. */
export interface DestinationLimits {
  /** Most items in one `write` call. */
  maxBatchItems?: number;
  /** Most bytes of JSON payload (the items' `payload`) in one `write` call. */
  maxBatchBytes?: number;
  /** An item whose payload is larger is dead-lettered with the reason and never sent. */
  maxItemBytes?: number;
}

/** A track event as destinations receive it (`op: 'track'`). */
export interface DestinationEvent {
  name: string;
  properties: Record<string, unknown>;
  /** ISO-8601 UTC: when it happened. */
  occurredAt: string;
  revenue?: number;
  currency?: string;
  /** Where it came from. */
  source: string;
  stream: string;
  recordId: string;
}

export interface DestinationItem {
  /**
   * The profile id (upserts, deletes) or the record key `source/stream/recordId`
   * (track items); re-sending the same key must be idempotent.
   */
  key: string;
  /**
   * `upsert`: the profile as it is now. `delete`: remove what `previous.ref` names.
   * `track`: one event of `profile` (only to destinations with `capabilities.events`
   * and `events: true` in YAML), sent once, in the order the events were stored.
   */
  op: 'upsert' | 'delete' | 'track' | 'withdraw';
  /** Track items: the event. */
  event?: DestinationEvent;
  /** Upserts and track items: the profile as it is now. */
  profile?: ProfileDocument;
  /**
   * Upserts: what the destination should hold for this profile, built from the
   * destination's `mapping:` in YAML (output name -> value). Without a mapping,
   * the connector's `defaultMapping`; without either, absent (send `profile`).
   */
  payload?: Record<string, unknown>;
  /** Profile ids merged into this one since the last delivery, so destinations can follow. */
  mergedFrom?: string[];
  /**
   * What this destination last acknowledged for this key, when it holds it:
   * its own key for the record (`ref`, see `DestinationConnector.ref`).
   * Deletes always carry it: it names what to delete.
   */
  previous?: { ref: string };
  /**
   * Deletes: why. `merged` items also name the profile they were merged into.
   * `consent_withdrawn`: the destination serves a `purpose` the profile no longer
   * consents to (deletes to destinations that withdraw by deleting, and every `withdraw` item).
   */
  reason?: 'merged' | 'deleted' | 'unmatched' | 'consent_withdrawn';
  /**
   * `withdraw` items (and `consent_withdrawn` deletes): the consent purpose withdrawn
   * (the destination's `purpose:`). A `withdraw` item carries `previous.ref` and the
   * profile as it is now; the destination keeps the record but must stop using it
   * for the purpose (Brevo: blocklist the contact; a webhook: a `profile.consent_withdrawn` event).
   */
  purpose?: string;
  /**
   * Deletes sent for `tributary forget`: the record must be gone, not kept. A
   * destination that otherwise keeps deleted records (SQL without `mirror`, a
   * soft-delete column) removes this one for real.
   */
  erase?: boolean;
  /** Deletes with reason `merged`: the surviving profile id. */
  survivor?: string;
}

export type WriteResult =
  | { status: 'ok' }
  | { status: 'retryable'; reason: string; retryAfterMs?: number }
  | { status: 'permanent'; reason: string };

/** Extra context a destination receives on every call. */
export interface DestinationContext<C = unknown> extends ConnectorContext<C> {
  /** Request budgets: await `rate.take()` before each request to the vendor. */
  readonly rate: RateGate;
}

/**
 * A destination connector. Implement one to push profiles to a new tool.
 *
 * `incremental` destinations receive the profiles changed since their last run
 * (from the outbox), only those whose payload changed since the destination
 * last acknowledged it; `snapshot` destinations (a file) receive every profile,
 * between `begin` and `commit`. The connector says what each response means;
 * the engine owns batching, rate budgets, retries, backoff and dead letters.
 *
 * Errors: return a result per item (ok, retryable with an optional
 * `retryAfterMs`, permanent with a reason). Throw a `ConnectionError` with
 * `retryable: false` when no item can ever succeed (a rejected credential): the
 * run stops with that one line and nothing is retried. Any other throw counts
 * as retryable for the whole batch.
 *
 * @example
 * const dest: DestinationConnector<{ url: string }> = {
 *   id: 'my-webhook', kind: 'destination', delivery: 'incremental',
 *   spec: { config: z.object({ url: z.string() }) },
 *   capabilities: { delete: true },
 *   budgets: { default: { perSecond: 20 } },
 *   async check() { return { ok: true }; },
 *   async write(ctx, batch) {
 *     await ctx.rate.take();
 *     return batch.map(() => ({ status: 'ok' }));
 *   },
 * };
 */
export interface DestinationConnector<C = any> {
  readonly id: string;
  readonly kind: 'destination';
  readonly delivery: 'incremental' | 'snapshot';
  readonly spec: ConnectorSpec<C>;
  /**
   * Can it remove what it holds (`op: 'delete'`)? Without it, merged-away,
   * deleted and no-longer-matching profiles are left at the destination.
   */
  readonly capabilities?: {
    delete?: boolean;
    events?: boolean;
    /**
     * How it withdraws a profile it holds when the destination's `purpose:` loses
     * its consent. `'mark'`: the engine sends `op: 'withdraw'` items (reason
     * `consent_withdrawn`, `purpose`); the record stays there, flagged (Brevo sets
     * emailBlacklisted). `'delete'`: the engine sends a delete with reason
     * `consent_withdrawn`. Unset: a connector that can delete withdraws by delete;
     * one that cannot is reported as unable to withdraw (`tributary status`).
     * Implement `'mark'` when the vendor has an opt-out flag: deleting would lose
     * the suppression, and a later import could subscribe the person again.
     */
    withdraw?: 'mark' | 'delete';
  };
  /**
   * Default request budgets by name, as the vendor documents them. Users
   * override them per destination in YAML (`rateLimit:`) for higher tiers.
   */
  readonly budgets?: Record<string, RateBudget>;
  /** Per-call limits; the YAML's `batchSize` / `maxBatchBytes` may only lower them. */
  readonly limits?: DestinationLimits;
  /**
   * Declare it when the destination sends a mapped payload (`item.payload`); a
   * YAML `mapping:` on a destination without it is refused at load. `names` is
   * the output names it may use (a pattern such as Brevo's upper-case attribute
   * names), so a typo fails at load with the YAML line.
   */
  readonly mapping?: {
    /** Names must match this (e.g. /^[A-Z][A-Z0-9_]*$/). */
    names?: RegExp;
    /** What `names` means, for the error message ("upper-case Brevo attribute names"). */
    describe?: string;
    /** Mapping used when the YAML gives none: output name -> profile path (`traits.firstName`). */
    defaults?: Record<string, string>;
  };
  /**
   * The destination's own key for an item (Brevo: the contact's email or ext_id).
   * The engine stores it with each acknowledged item and hands it back as
   * `previous.ref`, so a merge deletes the absorbed profile's record only when it
   * is a different record there. Default: the profile id.
   */
  ref?(item: DestinationItem, config: C): string;
  check(ctx: ConnectorContext<C>): Promise<CheckResult>;
  /** Snapshot destinations: called before the first batch. */
  begin?(ctx: DestinationContext<C>): Promise<void>;
  write(ctx: DestinationContext<C>, batch: DestinationItem[]): Promise<WriteResult[]>;
  /** Snapshot destinations: make the written data visible (rename the temp file). */
  commit?(ctx: DestinationContext<C>): Promise<void>;
  /** Called when a run fails after `begin`: discard partial output. */
  abort?(ctx: DestinationContext<C>): Promise<void>;
}

export type Connector = SourceConnector | DestinationConnector;
