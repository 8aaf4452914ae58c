/** The one shape every source record is turned into before resolution. */

/** Identifier types every mapping may use; others are declared in `resolution.identifierTypes`. */
export const BUILT_IN_IDENTIFIER_TYPES = ['email', 'phone', 'external_id', 'anonymous_id'] as const;

export interface Identifier {
  /** email, phone, external_id, anonymous_id, or a custom type. */
  type: string;
  /** Normalized value: email lowercased, NFC, ASCII domain; phone E.164 with `;ext=N` when it has an extension. */
  value: string;
  /** For external ids: which system issued it (crm, shop). */
  namespace?: string;
  /** The value as the source had it, when normalization changed it. */
  raw?: string;
}

export interface TrackEvent {
  name: string;
  properties: Record<string, unknown>;
  revenue?: number;
  currency?: string;
}

export interface FieldWarning {
  field: string;
  value: unknown;
  reason: string;
}

export interface CanonicalRecord {
  kind: 'identify' | 'track';
  source: string;
  stream: string;
  recordId: string;
  /** ISO-8601 UTC. */
  observedAt: string;
  identifiers: Identifier[];
  traits: Record<string, unknown>;
  event?: TrackEvent;
  consent?: Record<string, boolean>;
  warnings?: FieldWarning[];
}

/** `type` or `type:namespace`, then the value: the node id of an identifier in the graph. */
export function identifierKey(id: Pick<Identifier, 'type' | 'value' | 'namespace'>): string {
  return id.namespace ? `${id.type}:${id.namespace}\u0000${id.value}` : `${id.type}\u0000${id.value}`;
}

export function parseIdentifierKey(key: string): Pick<Identifier, 'type' | 'value' | 'namespace'> {
  const sep = key.indexOf('\u0000');
  const head = key.slice(0, sep);
  const value = key.slice(sep + 1);
  const colon = head.indexOf(':');
  return colon < 0 ? { type: head, value } : { type: head.slice(0, colon), namespace: head.slice(colon + 1), value };
}

export function recordKey(r: Pick<CanonicalRecord, 'source' | 'stream' | 'recordId'>): string {
  return `${r.source}/${r.stream}/${r.recordId}`;
}
