import { createHash } from 'node:crypto';
import type { DestinationItem, ProfileDocument } from '../../core/plugin/types.js';
import type { BrevoConfig, IdentifierKind } from './config.js';

/** Attribute names Brevo accepts: upper case, digits and underscores, starting with a letter. */
export const ATTRIBUTE_NAME = /^[A-Z][A-Z0-9_]*$/;

/** The mapping used when the YAML has none: output attribute -> profile path. */
export const DEFAULT_MAPPING: Record<string, string> = {
  FIRSTNAME: 'traits.firstName',
  LASTNAME: 'traits.lastName',
  SMS: 'identifiers.phone',
};

/** The contact a Brevo request names: `email:a@b.c`, `ext_id:p1`, `sms:+33612345678`. */
export interface ContactKey {
  kind: IdentifierKind;
  value: string;
}

export function formatRef(key: ContactKey): string {
  return `${key.kind}:${key.value}`;
}

/**
 * A contact as error reasons and logs name it: the kind and the first 12 hex
 * digits of the SHA-256 of the value, never the address or number itself
 * (reasons are logged and kept after `forget` has erased the person). An
 * operator finds the contact with `printf %s 'a@b.c' | sha256sum | cut -c1-12`.
 */
export function refLabel(key: ContactKey): string {
  return `${key.kind} sha256:${createHash('sha256').update(key.value).digest('hex').slice(0, 12)}`;
}

/** A `previous.ref` that names no contact, described without its value. */
export function badRefLabel(ref: string | undefined): string {
  if (ref === undefined || ref === '') return 'no previous ref';
  const prefix = /^([a-z_]{1,16}):/i.exec(ref)?.[1];
  return `previous ref ${prefix ? `"${prefix}:…"` : `of ${ref.length} characters`}`;
}

export function parseRef(ref: string): ContactKey | undefined {
  const m = /^(email|ext_id|sms):(.+)$/s.exec(ref);
  return m ? { kind: m[1] as IdentifierKind, value: m[2] } : undefined;
}

/**
 * A value of the profile by path: `traits.firstName`, `traits.address.city`,
 * `identifiers.phone` (the first identifier of that type), `computed.x`, `id`.
 */
export function profileValue(profile: ProfileDocument, path: string): unknown {
  const [head, ...rest] = path.split('.');
  if (head === 'identifiers') return profile.identifiers.find((i) => i.type === rest.join('.'))?.value;
  let cur: unknown = head === 'id' ? profile.id : (profile as unknown as Record<string, unknown>)[head];
  for (const part of rest) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The attributes to send: the engine's payload, or the default mapping applied to the profile when there is none. */
export function payloadOf(item: DestinationItem): Record<string, unknown> {
  if (item.payload) return item.payload;
  const out: Record<string, unknown> = {};
  if (!item.profile) return out;
  for (const [name, path] of Object.entries(DEFAULT_MAPPING)) {
    const v = profileValue(item.profile, path);
    if (v !== undefined && v !== null) out[name] = v;
  }
  return out;
}

/** The profile's email: its first email identifier, else `traits.email`. */
function emailOf(profile: ProfileDocument): string | undefined {
  const id = profile.identifiers.find((i) => i.type === 'email')?.value;
  const t = profile.traits.email;
  return id ?? (typeof t === 'string' && t.length > 0 ? t : undefined);
}

/** The profile's phone for the SMS identifier: the payload's SMS, else its first phone identifier, else `traits.phone`. */
function phoneOf(item: DestinationItem): string | undefined {
  const fromPayload = item.payload?.SMS;
  if (typeof fromPayload === 'string' && fromPayload) return fromPayload;
  const p = item.profile;
  if (!p) return undefined;
  const t = p.traits.phone;
  return p.identifiers.find((i) => i.type === 'phone')?.value ?? (typeof t === 'string' && t ? t : undefined);
}

/** The Brevo contact an upsert or track item names, by the configured identifier; undefined when the profile lacks it. */
export function contactKeyOf(item: DestinationItem, config: BrevoConfig): ContactKey | undefined {
  if (config.identifier === 'ext_id') {
    const id = item.profile?.id ?? (item.op === 'track' ? undefined : item.key);
    return id ? { kind: 'ext_id', value: id } : undefined;
  }
  if (config.identifier === 'sms') {
    const v = phoneOf(item);
    return v ? { kind: 'sms', value: v } : undefined;
  }
  const v = item.profile ? emailOf(item.profile) : undefined;
  return v ? { kind: 'email', value: v } : undefined;
}

/** `DestinationConnector.ref`: the contact key, so the engine can tell two profiles' Brevo contacts apart. */
export function brevoRef(item: DestinationItem, config: BrevoConfig): string {
  if (item.op === 'delete') return item.previous?.ref ?? `ext_id:${item.key}`;
  const key = contactKeyOf(item, config);
  return key ? formatRef(key) : `ext_id:${item.profile?.id ?? item.key}`;
}

/**
 * Blocklist flags from consent (the purposes named by `consentPurposes`, by
 * default `traits.consent.email_marketing` / `sms_marketing`): false ->
 * blacklisted, true -> not blacklisted, absent -> leave Brevo's value alone.
 */
export function consentFlags(
  profile: ProfileDocument | undefined,
  purposes: { email: string; sms: string } = { email: 'email_marketing', sms: 'sms_marketing' },
): { emailBlacklisted?: boolean; smsBlacklisted?: boolean } {
  const consent = profile?.traits.consent;
  const out: { emailBlacklisted?: boolean; smsBlacklisted?: boolean } = {};
  if (!consent || typeof consent !== 'object') return out;
  const c = consent as Record<string, unknown>;
  if (typeof c[purposes.email] === 'boolean') out.emailBlacklisted = !c[purposes.email];
  if (typeof c[purposes.sms] === 'boolean') out.smsBlacklisted = !c[purposes.sms];
  return out;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Brevo attributes from a payload: names checked, absent and null values left
 * out, objects refused (Brevo attributes hold text, numbers, booleans, dates or
 * lists). Returns the reason when the payload cannot be sent.
 */
export function attributesOf(payload: Record<string, unknown>): { attributes: Record<string, unknown> } | { reason: string } {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (!ATTRIBUTE_NAME.test(name)) return { reason: `attribute ${JSON.stringify(name)} is not an upper-case Brevo attribute name` };
    if (value === undefined || value === null) continue;
    if (typeof value === 'object' && !Array.isArray(value)) return { reason: `attribute ${name} holds an object; Brevo attributes take text, numbers, booleans, dates or lists` };
    attributes[name] = value;
  }
  if (attributes.SMS !== undefined && (typeof attributes.SMS !== 'string' || !E164.test(attributes.SMS))) {
    return { reason: `attribute SMS must be an E.164 number with + (got ${JSON.stringify(attributes.SMS)})` };
  }
  return { attributes };
}

/** The body of `POST /contacts` for one upsert (without `updateEnabled`), or why it cannot be sent. */
export interface ContactBody {
  key: ContactKey;
  email?: string;
  ext_id?: string;
  attributes: Record<string, unknown>;
  emailBlacklisted?: boolean;
  smsBlacklisted?: boolean;
  listIds?: number[];
  unlinkListIds?: number[];
}

export function contactBody(item: DestinationItem, config: BrevoConfig): ContactBody | { reason: string } {
  const key = contactKeyOf(item, config);
  if (!key) return { reason: `profile ${item.key} has no ${config.identifier === 'sms' ? 'phone' : config.identifier === 'email' ? 'email' : 'id'} to name its Brevo contact` };
  const attrs = attributesOf(payloadOf(item));
  if ('reason' in attrs) return { reason: `profile ${item.key}: ${attrs.reason}` };
  const body: ContactBody = { key, attributes: attrs.attributes };
  if (key.kind === 'email') body.email = key.value;
  if (key.kind === 'ext_id') body.ext_id = key.value;
  if (key.kind === 'sms') {
    if (!E164.test(key.value)) return { reason: `profile ${item.key}: phone ${JSON.stringify(key.value)} is not E.164 with +` };
    body.attributes.SMS = key.value;
  }
  if (config.sendExtId && key.kind !== 'ext_id' && item.profile) body.ext_id = item.profile.id;
  Object.assign(body, consentFlags(item.profile, config.consentPurposes));
  if (config.listIds.length) body.listIds = config.listIds;
  if (config.unlinkListIds.length) body.unlinkListIds = config.unlinkListIds;
  return body;
}

/** The wire form of a ContactBody (the key is ours, not Brevo's). */
export function wire(body: ContactBody): Record<string, unknown> {
  const { key: _key, ...rest } = body;
  return rest;
}
