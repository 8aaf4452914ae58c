import type { DestinationItem, WriteResult } from '../../core/plugin/types.js';

/** Envelope format version; a breaking change of the body bumps it (see README "Body format"). */
export const BODY_VERSION = 1;

/**
 * One item of the request body. This is a public contract: receivers are
 * written against it (README "Body format").
 */
export type WireItem =
  | {
      type: 'profile.upserted';
      key: string;
      profileId: string;
      /** The profile's `updatedAt`, when the item carries the profile. */
      timestamp?: string;
      /** `mapping` payload when the destination has one, else the whole profile document. */
      data: Record<string, unknown>;
      /** Profile ids merged into this one since the last delivery. */
      mergedFrom?: string[];
    }
  | { type: 'profile.merged'; key: string; profileId: string; ref: string; survivor: string }
  | { type: 'profile.deleted'; key: string; profileId: string; ref: string; reason: 'deleted' | 'unmatched' | 'consent_withdrawn' }
  /** The destination's `purpose:` lost its consent: stop using the profile for it (docs/privacy.md). */
  | { type: 'profile.consent_withdrawn'; key: string; profileId: string; ref: string; purpose: string; timestamp?: string }
  | {
      type: 'event';
      key: string;
      profileId: string;
      timestamp: string;
      data: { name: string; properties: Record<string, unknown>; revenue?: number; currency?: string; source: string; stream: string; recordId: string };
    };

/** An item turned into its wire form, or the permanent reason why it cannot be. */
export type Prepared = { ok: true; wire: WireItem; json: string } | { ok: false; result: Extract<WriteResult, { status: 'permanent' }> };

function permanent(reason: string): Prepared {
  return { ok: false, result: { status: 'permanent', reason } };
}

function toWire(item: DestinationItem): WireItem | string {
  switch (item.op) {
    case 'upsert': {
      const data = item.payload ?? (item.profile as unknown as Record<string, unknown> | undefined);
      if (!data) return `upsert of ${item.key} carries neither a payload nor a profile`;
      const wire: WireItem = { type: 'profile.upserted', key: item.key, profileId: item.profile?.id ?? item.key, data };
      if (item.profile?.updatedAt) wire.timestamp = item.profile.updatedAt;
      if (item.mergedFrom?.length) wire.mergedFrom = item.mergedFrom;
      return wire;
    }
    case 'delete': {
      const ref = item.previous?.ref ?? item.key;
      if (item.reason === 'merged') {
        if (!item.survivor) return `merged delete of ${item.key} names no survivor`;
        return { type: 'profile.merged', key: item.key, profileId: item.key, ref, survivor: item.survivor };
      }
      return { type: 'profile.deleted', key: item.key, profileId: item.key, ref, reason: item.reason === 'unmatched' || item.reason === 'consent_withdrawn' ? item.reason : 'deleted' };
    }
    case 'withdraw': {
      if (!item.purpose) return `withdrawal of ${item.key} names no purpose`;
      const wire: WireItem = { type: 'profile.consent_withdrawn', key: item.key, profileId: item.key, ref: item.previous?.ref ?? item.key, purpose: item.purpose };
      if (item.profile?.updatedAt) wire.timestamp = item.profile.updatedAt;
      return wire;
    }
    case 'track': {
      const e = item.event;
      if (!e) return `track item ${item.key} carries no event`;
      if (!item.profile) return `track item ${item.key} carries no profile`;
      const data: Extract<WireItem, { type: 'event' }>['data'] = { name: e.name, properties: e.properties, source: e.source, stream: e.stream, recordId: e.recordId };
      if (e.revenue !== undefined) data.revenue = e.revenue;
      if (e.currency !== undefined) data.currency = e.currency;
      // Only the profile id: the full profile would bypass the destination's `mapping:`.
      return { type: 'event', key: item.key, profileId: item.profile.id, timestamp: e.occurredAt, data };
    }
    default:
      return `unknown op ${JSON.stringify((item as { op: unknown }).op)} for ${item.key}`;
  }
}

/** Wire form of one item; a bad item (no profile, not serializable) is a permanent result, never a thrown batch. */
export function prepareItem(item: DestinationItem): Prepared {
  const wire = toWire(item);
  if (typeof wire === 'string') return permanent(wire);
  try {
    const json = JSON.stringify(wire);
    if (json === undefined) return permanent(`${item.key} cannot be serialized as JSON`);
    return { ok: true, wire, json };
  } catch (err) {
    return permanent(`${item.key} cannot be serialized as JSON: ${(err as Error).message}`);
  }
}

/**
 * The request body: one envelope per request, the items in the order given.
 * Built from the items' JSON so it holds no timestamp of the attempt: a retry
 * of the same batch sends the same bytes (only the signed headers change).
 */
export function buildBody(opts: { id: string; destination: string; items: string[] }): string {
  return `{"type":"batch","version":${BODY_VERSION},"id":${JSON.stringify(opts.id)},"destination":${JSON.stringify(opts.destination)},"count":${opts.items.length},"items":[${opts.items.join(',')}]}`;
}
