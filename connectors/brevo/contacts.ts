import type { DestinationContext, DestinationItem, WriteResult } from '../../core/plugin/types.js';
import { IDENTIFIERS, type BrevoConfig } from './config.js';
import { brevoErrorBody, classifyFailure, isNotFound, isSuccess, jsonOf } from './errors.js';
import type { BrevoHttp, Exchange } from './http.js';
import { badRefLabel, contactBody, parseRef, refLabel, wire, type ContactBody, type ContactKey } from './mapping.js';

type Ctx = DestinationContext<BrevoConfig>;
const OK: WriteResult = { status: 'ok' };

function contactPath(key: ContactKey): { path: string; query: Record<string, string> } {
  return { path: `/contacts/${encodeURIComponent(key.value)}`, query: { identifierType: IDENTIFIERS[key.kind] } };
}

function hasCode(ex: Exchange, status: number, code: string): boolean {
  return ex.kind === 'response' && ex.status === status && brevoErrorBody(ex).code === code;
}

/** `POST /contacts` with `updateEnabled`: 201 creates, 204 updates. */
async function postContact(http: BrevoHttp, ctx: Ctx, body: ContactBody, what: string): Promise<WriteResult> {
  const ex = await http.send({ budget: 'contacts', method: 'POST', path: '/contacts', body: { ...wire(body), updateEnabled: true } });
  return isSuccess(ex) ? OK : classifyFailure(ex, ctx, 'contacts', what);
}

interface HeldContact {
  emailBlacklisted?: boolean;
  smsBlacklisted?: boolean;
}

/** GET a contact: what Brevo holds, `null` when it holds nothing, or the failure. */
async function getContact(http: BrevoHttp, ctx: Ctx, key: ContactKey, what: string): Promise<HeldContact | null | { failure: WriteResult }> {
  const ex = await http.send({ budget: 'contacts', method: 'GET', ...contactPath(key) });
  if (isNotFound(ex)) return null;
  if (!isSuccess(ex)) return { failure: classifyFailure(ex, ctx, 'contacts', what) };
  const j = jsonOf(ex);
  return { emailBlacklisted: j.emailBlacklisted === true, smsBlacklisted: j.smsBlacklisted === true };
}

/**
 * The profile's email (or phone) changed: move the old contact to the new
 * address with PUT, so its lists, history and ext_id stay one contact. Brevo
 * lifts the email blocklist when PUT changes EMAIL, so the blocklist flags are
 * always sent: the consent when the profile states one, else what the old
 * contact held. When the new address already is a contact, that contact is
 * updated instead, and the old one is deleted unless it is blocklisted (then
 * it stays, keeping the suppression, and the blocklist is carried over).
 */
async function changeKey(http: BrevoHttp, ctx: Ctx, body: ContactBody, old: ContactKey, what: string): Promise<WriteResult> {
  const held = await getContact(http, ctx, old, `${what} (reading the previous contact ${refLabel(old)})`);
  if (held === null) return postContact(http, ctx, body, what);
  if ('failure' in held) return held.failure;
  const emailBlacklisted = body.emailBlacklisted ?? held.emailBlacklisted ?? false;
  const smsBlacklisted = body.smsBlacklisted ?? held.smsBlacklisted ?? false;
  const attributes = { ...body.attributes, [body.key.kind === 'sms' ? 'SMS' : 'EMAIL']: body.key.value };
  const put = await http.send({
    budget: 'contacts',
    method: 'PUT',
    ...contactPath(old),
    body: { attributes, emailBlacklisted, smsBlacklisted, ...(body.listIds ? { listIds: body.listIds } : {}), ...(body.unlinkListIds ? { unlinkListIds: body.unlinkListIds } : {}) },
  });
  if (isSuccess(put)) return OK;
  // The old contact vanished since the GET: create the new one.
  if (hasCode(put, 404, 'document_not_found')) return postContact(http, ctx, body, what);
  if (!hasCode(put, 400, 'duplicate_parameter')) return classifyFailure(put, ctx, 'contacts', `${what} (moving ${refLabel(old)})`);
  const oldBlocked = held.emailBlacklisted === true || held.smsBlacklisted === true;
  if (oldBlocked) {
    // Keep the blocklisted old contact (and its ext_id); carry its suppression to the contact we now write.
    const { ext_id: _e, ...rest } = body;
    return postContact(http, ctx, { ...rest, emailBlacklisted: body.emailBlacklisted ?? (held.emailBlacklisted || undefined), smsBlacklisted: body.smsBlacklisted ?? (held.smsBlacklisted || undefined) }, what);
  }
  const del = await http.send({ budget: 'contacts', method: 'DELETE', ...contactPath(old) });
  if (!isSuccess(del) && !isNotFound(del)) return classifyFailure(del, ctx, 'contacts', `${what} (removing the previous contact ${refLabel(old)})`);
  return postContact(http, ctx, body, what);
}

/** One upsert on the single-contact path. */
export async function upsertContact(http: BrevoHttp, ctx: Ctx, item: DestinationItem): Promise<WriteResult> {
  const body = contactBody(item, ctx.config);
  if ('reason' in body) return { status: 'permanent', reason: body.reason };
  const what = `upsert of ${item.key} (${body.key.kind})`;
  const old = item.previous?.ref ? parseRef(item.previous.ref) : undefined;
  if (old && old.kind === body.key.kind && old.kind !== 'ext_id' && old.value.toLowerCase() !== body.key.value.toLowerCase()) {
    return changeKey(http, ctx, body, old, what);
  }
  return postContact(http, ctx, body, what);
}

/**
 * Consent withdrawn for the destination's purpose: blocklist the contact that
 * `previous.ref` names (emailBlacklisted for the email purpose, smsBlacklisted
 * for the sms one, see `consentPurposes`), changing nothing else. Another
 * purpose unlinks the contact from the configured `listIds`; with none, the
 * item is refused (Brevo has no other flag to set). A contact Brevo no longer
 * holds needs nothing.
 */
export async function withdrawContact(http: BrevoHttp, ctx: Ctx, item: DestinationItem): Promise<WriteResult> {
  const ref = item.previous?.ref;
  const key = ref ? parseRef(ref) : undefined;
  if (!key) return { status: 'permanent', reason: `withdrawal of ${item.key}: ${badRefLabel(ref)} names no Brevo contact (expected email:, ext_id: or sms:)` };
  const c = ctx.config;
  let body: Record<string, unknown>;
  if (item.purpose === c.consentPurposes.email) body = { emailBlacklisted: true };
  else if (item.purpose === c.consentPurposes.sms) body = { smsBlacklisted: true };
  else if (c.listIds.length) body = { unlinkListIds: c.listIds };
  else {
    return {
      status: 'permanent',
      reason: `withdrawal of ${item.key}: purpose ${JSON.stringify(item.purpose)} is neither consentPurposes.email nor .sms, and no listIds are configured to unlink the contact from`,
    };
  }
  const ex = await http.send({ budget: 'contacts', method: 'PUT', ...contactPath(key), body });
  if (isSuccess(ex) || isNotFound(ex)) return OK;
  return classifyFailure(ex, ctx, 'contacts', `withdrawal of ${item.key} (${refLabel(key)})`);
}

/**
 * One delete: the contact `previous.ref` names. 204 and 404 are done; 405 is a
 * permanent refusal. A profile that was merged away or no longer matches keeps
 * its contact when Brevo holds it blocklisted (deleting it would drop the
 * suppression, and a later re-create would resubscribe the address); a
 * `deleted` profile's contact is always deleted.
 */
export async function deleteContact(http: BrevoHttp, ctx: Ctx, item: DestinationItem): Promise<WriteResult> {
  const ref = item.previous?.ref;
  const key = ref ? parseRef(ref) : undefined;
  if (!key) return { status: 'permanent', reason: `delete of ${item.key}: ${badRefLabel(ref)} names no Brevo contact (expected email:, ext_id: or sms:)` };
  const what = `delete of ${item.key} (${refLabel(key)})`;
  if (item.reason !== 'deleted') {
    const held = await getContact(http, ctx, key, what);
    if (held === null) return OK;
    if ('failure' in held) return held.failure;
    if (held.emailBlacklisted || held.smsBlacklisted) {
      ctx.logger.info('brevo: kept a blocklisted contact instead of deleting it', { destination: ctx.name, key: item.key, reason: item.reason });
      ctx.metrics.count('brevo.delete.kept_blocklisted');
      return OK;
    }
  }
  const ex = await http.send({ budget: 'contacts', method: 'DELETE', ...contactPath(key) });
  if (isSuccess(ex) || isNotFound(ex)) return OK;
  return classifyFailure(ex, ctx, 'contacts', what);
}
