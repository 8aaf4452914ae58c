import type { DestinationContext, DestinationItem, WriteResult } from '../../core/plugin/types.js';
import { IDENTIFIERS, type BrevoConfig } from './config.js';
import { classifyFailure, isSuccess } from './errors.js';
import type { BrevoHttp } from './http.js';
import { contactKeyOf } from './mapping.js';

/** Brevo's event names: at most 255 letters, digits, `-` and `_`. */
export const EVENT_NAME = /^[A-Za-z0-9_-]{1,255}$/;
/** Brevo's documented ceiling for `event_properties`. */
export const EVENT_PROPERTIES_LIMIT_BYTES = 50 * 1024;

/** The body of `POST /events` for one track item, or why it cannot be sent. */
export function eventBody(item: DestinationItem, config: BrevoConfig): { body: Record<string, unknown> } | { reason: string } {
  const ev = item.event;
  if (!ev) return { reason: `track item ${item.key} carries no event` };
  if (!EVENT_NAME.test(ev.name)) {
    return { reason: `event ${item.key}: name ${JSON.stringify(ev.name.slice(0, 80))} is not a Brevo event name (1-255 letters, digits, - and _)` };
  }
  const key = contactKeyOf(item, config);
  const identifiers: Record<string, string> = {};
  if (key) identifiers[IDENTIFIERS[key.kind]] = key.value;
  if (config.sendExtId && item.profile && key?.kind !== 'ext_id') identifiers.ext_id = item.profile.id;
  if (Object.keys(identifiers).length === 0) return { reason: `event ${item.key}: the profile has no ${config.identifier} to name its Brevo contact` };
  const properties: Record<string, unknown> = { ...ev.properties };
  if (ev.revenue !== undefined) properties.revenue = ev.revenue;
  if (ev.currency !== undefined) properties.currency = ev.currency;
  const size = Buffer.byteLength(JSON.stringify(properties), 'utf8');
  if (size > EVENT_PROPERTIES_LIMIT_BYTES) return { reason: `event ${item.key}: event_properties are ${size} bytes, Brevo takes at most ${EVENT_PROPERTIES_LIMIT_BYTES}` };
  return { body: { event_name: ev.name, event_date: ev.occurredAt, identifiers, event_properties: properties } };
}

/** One track item: `POST /events` (204). */
export async function trackEvent(http: BrevoHttp, ctx: DestinationContext<BrevoConfig>, item: DestinationItem): Promise<WriteResult> {
  const built = eventBody(item, ctx.config);
  if ('reason' in built) return { status: 'permanent', reason: built.reason };
  const what = `event ${item.key} (${item.event?.name})`;
  const ex = await http.send({ budget: 'events', method: 'POST', path: '/events', body: built.body });
  return isSuccess(ex) ? { status: 'ok' } : classifyFailure(ex, ctx, 'events', what);
}
