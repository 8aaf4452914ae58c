/**
 * The seam between `tributary serve` (the HTTP server, the inbox) and sources
 * that receive pushed data (webhooks, the tracking API). A pushed event is
 * written to the store's inbox before the sender gets its 2xx; the source's
 * `read` later drains the inbox through the normal pipeline, with its own
 * checkpoint (the inbox sequence number), so mapping, dead letters and
 * resolution are the same as for polled sources.
 */

/** One accepted inbound event as the inbox keeps it. */
export interface InboxEvent {
  /** The YAML source name that accepted it. */
  source: string;
  /** The stream of that source it belongs to. */
  stream: string;
  /**
   * The sender's id for the message (Segment `messageId`, `webhook-id`,
   * `X-Shopify-Webhook-Id`). A second event with the same (source, dedupKey)
   * is not stored again and counts as a duplicate.
   */
  dedupKey?: string;
  /** When the server received it, ISO-8601 UTC. */
  receivedAt: string;
  /** The event itself, parsed JSON (one record). */
  body: Record<string, unknown>;
  /** `JSON.stringify(body)`, when the handler already has it (it measured the event): not serialized twice. */
  bodyJson?: string;
}

export interface InboxAppendResult {
  accepted: number;
  duplicates: number;
}

/** Write side, used by request handlers. Resolves only once the events are durable (committed). */
export interface InboxWriter {
  append(events: InboxEvent[]): Promise<InboxAppendResult>;
}

export interface InboxRow extends InboxEvent {
  /** Increasing per store; a source checkpoints the highest seq it has yielded. */
  seq: number;
}

/**
 * Read side, handed to sources through `ConnectorContext.inbox`. A source that
 * drains it sets `SourceConnector.drainsInbox` and checkpoints `{ inboxSeq: n }`
 * per stream (the highest seq it has yielded); once that checkpoint is committed
 * the engine deletes the stream's rows up to n, keeping the inbox bounded.
 */
export interface InboxReader {
  /** Rows of this source (optionally one stream) with seq > afterSeq, oldest first, at most `limit`. */
  read(source: string, opts: { afterSeq: number; limit: number; stream?: string }): Promise<InboxRow[]>;
}

/** A request as a route handler sees it: the raw body is kept for signature checks. */
export interface InboundRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The body as received after Content-Encoding is undone, size-limited by the server. */
  rawBody: Buffer;
}

export interface InboundResponse {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON. Never echo secrets or the request body. */
  body?: unknown;
}

/** An HTTP route a source asks `serve` to mount (for example `POST /hooks/<source name>`). */
export interface InboundRoute {
  method: 'POST';
  path: string;
  /** Largest body accepted, in bytes (over it: 413 before the handler runs). */
  maxBodyBytes?: number;
  handle(req: InboundRequest, inbox: InboxWriter): Promise<InboundResponse>;
}
