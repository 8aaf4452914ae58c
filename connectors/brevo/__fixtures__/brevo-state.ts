/**
 * What the Brevo contract server holds and how Brevo's documented contact
 * operations change it. Pure state, no HTTP: `brevo-server.ts` routes to it.
 * An `Answer` is the status and JSON body Brevo documents for the outcome.
 */

/** A contact as the server holds it. SMS lives in `attributes.SMS`, as at Brevo. */
export interface StoredContact {
  id: number;
  email?: string;
  ext_id?: string;
  attributes: Record<string, unknown>;
  listIds: number[];
  emailBlacklisted: boolean;
  smsBlacklisted: boolean;
  createdAt: string;
  modifiedAt: string;
}

export interface Answer {
  status: number;
  body?: unknown;
}

export const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Attributes every Brevo account has. */
export const BUILT_IN_ATTRIBUTES = ['EMAIL', 'SMS', 'FIRSTNAME', 'LASTNAME', 'WHATSAPP', 'LANDLINE_NUMBER'];

export const err = (status: number, code: string, message: string): Answer => ({ status, body: { code, message } });

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Identifier types of the `/contacts/{identifier}` routes. */
export type IdentifierType = 'email_id' | 'ext_id' | 'phone_id' | 'contact_id';

export class BrevoState {
  readonly attributes: Set<string>;
  readonly lists: Set<number>;
  private readonly byId = new Map<number, StoredContact>();
  private readonly byEmail = new Map<string, StoredContact>();
  private readonly byExtId = new Map<string, StoredContact>();
  private readonly bySms = new Map<string, StoredContact>();
  private nextId = 1;
  /** Identifiers (`email_id:a@b.c`) whose DELETE answers 405. */
  readonly undeletable = new Set<string>();

  constructor(attributes: string[], lists: number[]) {
    this.attributes = new Set([...BUILT_IN_ATTRIBUTES, ...attributes]);
    this.lists = new Set(lists);
  }

  all(): StoredContact[] {
    return [...this.byId.values()];
  }
  byEmailAddress(email: string): StoredContact | undefined {
    return this.byEmail.get(email.toLowerCase());
  }
  byExternalId(id: string): StoredContact | undefined {
    return this.byExtId.get(id);
  }
  byPhone(sms: string): StoredContact | undefined {
    return this.bySms.get(sms);
  }

  find(type: IdentifierType, identifier: string): StoredContact | undefined {
    if (type === 'email_id') return this.byEmailAddress(identifier);
    if (type === 'ext_id') return this.byExtId.get(identifier);
    if (type === 'phone_id') return this.bySms.get(identifier.startsWith('+') ? identifier : `+${identifier}`);
    return this.byId.get(Number(identifier));
  }

  private index(c: StoredContact): void {
    this.byId.set(c.id, c);
    if (c.email) this.byEmail.set(c.email.toLowerCase(), c);
    if (c.ext_id) this.byExtId.set(c.ext_id, c);
    if (typeof c.attributes.SMS === 'string') this.bySms.set(c.attributes.SMS, c);
  }
  private unindex(c: StoredContact): void {
    this.byId.delete(c.id);
    if (c.email) this.byEmail.delete(c.email.toLowerCase());
    if (c.ext_id) this.byExtId.delete(c.ext_id);
    if (typeof c.attributes.SMS === 'string') this.bySms.delete(c.attributes.SMS);
  }

  /** Put a contact directly (a test's starting point, e.g. one already blocklisted). */
  seed(c: Partial<Omit<StoredContact, 'id'>>): StoredContact {
    const now = new Date().toISOString();
    const contact: StoredContact = { id: this.nextId++, attributes: {}, listIds: [], emailBlacklisted: false, smsBlacklisted: false, createdAt: now, modifiedAt: now, ...c };
    if (contact.email) contact.attributes.EMAIL = contact.email;
    this.index(contact);
    return contact;
  }

  /** Attribute names and values Brevo would refuse, as its 400 answer; undefined when all are fine. */
  checkAttributes(attrs: unknown): Answer | undefined {
    if (attrs === undefined) return undefined;
    if (!isObj(attrs)) return err(400, 'invalid_parameter', 'attributes should be an object');
    for (const [name, value] of Object.entries(attrs)) {
      if (!this.attributes.has(name)) return err(400, 'invalid_parameter', `Attribute ${name} does not exist`);
      if (name === 'SMS' && (typeof value !== 'string' || !E164.test(value))) return err(400, 'invalid_parameter', 'Invalid phone number');
      if (name === 'EMAIL' && (typeof value !== 'string' || !EMAIL.test(value))) return err(400, 'invalid_parameter', 'Invalid email address');
      if (isObj(value)) return err(400, 'invalid_parameter', `Invalid value for attribute ${name}`);
    }
    return undefined;
  }

  private checkLists(...ids: unknown[]): Answer | undefined {
    for (const list of ids) {
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.some((l) => typeof l !== 'number')) return err(400, 'invalid_parameter', 'listIds should be an array of integers');
      const unknown = list.find((l) => !this.lists.has(l as number));
      if (unknown !== undefined) return err(400, 'invalid_parameter', `List ID ${unknown} does not exist`);
    }
    return undefined;
  }

  /** Another contact than `self` holding one of these identifiers: Brevo's duplicate_parameter. */
  private conflict(self: StoredContact | undefined, ids: { email?: string; ext_id?: string; sms?: string }): Answer | undefined {
    const holders: Array<[string, StoredContact | undefined]> = [
      ['email', ids.email ? this.byEmailAddress(ids.email) : undefined],
      ['ext_id', ids.ext_id ? this.byExtId.get(ids.ext_id) : undefined],
      ['SMS', ids.sms ? this.bySms.get(ids.sms) : undefined],
    ];
    for (const [what, holder] of holders) {
      if (holder && holder !== self) return err(400, 'duplicate_parameter', `Unable to update contact, ${what} is already associated with another Contact`);
    }
    return undefined;
  }

  private apply(c: StoredContact, change: { email?: string; ext_id?: string; attributes?: Obj; emailBlacklisted?: unknown; smsBlacklisted?: unknown; listIds?: unknown; unlinkListIds?: unknown }): void {
    this.unindex(c);
    const attrs = { ...(change.attributes ?? {}) };
    const newEmail = (typeof attrs.EMAIL === 'string' ? attrs.EMAIL : undefined) ?? change.email;
    if (newEmail !== undefined && newEmail.toLowerCase() !== c.email?.toLowerCase()) {
      // Brevo: changing a contact's email lifts its email blocklist unless the request sets it.
      if (c.email !== undefined && change.emailBlacklisted === undefined) c.emailBlacklisted = false;
      c.email = newEmail;
    }
    if (c.email) attrs.EMAIL = c.email;
    if (change.ext_id !== undefined) c.ext_id = change.ext_id;
    Object.assign(c.attributes, attrs);
    if (typeof change.emailBlacklisted === 'boolean') c.emailBlacklisted = change.emailBlacklisted;
    if (typeof change.smsBlacklisted === 'boolean') c.smsBlacklisted = change.smsBlacklisted;
    if (Array.isArray(change.listIds)) c.listIds = [...new Set([...c.listIds, ...(change.listIds as number[])])];
    if (Array.isArray(change.unlinkListIds)) c.listIds = c.listIds.filter((l) => !(change.unlinkListIds as number[]).includes(l));
    c.modifiedAt = new Date().toISOString();
    this.index(c);
  }

  /** `POST /contacts`: 201 `{id}` on create, 204 on update (with `updateEnabled`), 400 duplicate_parameter without it. */
  createContact(body: unknown): Answer {
    if (!isObj(body)) return err(400, 'bad_request', 'Request body should be a JSON object');
    const bad = this.checkAttributes(body.attributes) ?? this.checkLists(body.listIds, body.unlinkListIds);
    if (bad) return bad;
    const attrs = (body.attributes ?? {}) as Obj;
    const email = typeof body.email === 'string' ? body.email : undefined;
    const ext_id = typeof body.ext_id === 'string' ? body.ext_id : undefined;
    const sms = typeof attrs.SMS === 'string' ? attrs.SMS : undefined;
    if (email === undefined && ext_id === undefined && sms === undefined) return err(400, 'missing_parameter', 'email, ext_id or SMS is required');
    if (email !== undefined && !EMAIL.test(email)) return err(400, 'invalid_parameter', 'Invalid email address');
    const found = (email && this.byEmailAddress(email)) || (ext_id && this.byExtId.get(ext_id)) || (sms && this.bySms.get(sms)) || undefined;
    if (found && body.updateEnabled !== true) return err(400, 'duplicate_parameter', 'Unable to create contact, email is already associated with another Contact');
    // Matched by ext_id or SMS while the request names another email: not the same contact.
    if (found && email && found.email && found.email.toLowerCase() !== email.toLowerCase()) {
      return err(400, 'duplicate_parameter', 'Unable to update contact, ext_id or SMS is already associated with another email');
    }
    const clash = this.conflict(found, { email, ext_id, sms });
    if (clash) return clash;
    const target = found ?? this.seed({});
    this.apply(target, { email, ext_id, attributes: attrs, emailBlacklisted: body.emailBlacklisted, smsBlacklisted: body.smsBlacklisted, listIds: body.listIds, unlinkListIds: body.unlinkListIds });
    return found ? { status: 204 } : { status: 201, body: { id: target.id } };
  }

  /** `PUT /contacts/{identifier}`: 204, 404 document_not_found, 400 duplicate_parameter when the new EMAIL/SMS/ext_id is taken. */
  updateContact(type: IdentifierType, identifier: string, body: unknown): Answer {
    const c = this.find(type, identifier);
    if (!c) return err(404, 'document_not_found', 'Contact does not exist');
    if (!isObj(body)) return err(400, 'bad_request', 'Request body should be a JSON object');
    const bad = this.checkAttributes(body.attributes) ?? this.checkLists(body.listIds, body.unlinkListIds);
    if (bad) return bad;
    const attrs = (body.attributes ?? {}) as Obj;
    const ext_id = typeof body.ext_id === 'string' ? body.ext_id : undefined;
    const clash = this.conflict(c, { email: attrs.EMAIL as string | undefined, ext_id, sms: attrs.SMS as string | undefined });
    if (clash) return clash;
    this.apply(c, { ext_id, attributes: attrs, emailBlacklisted: body.emailBlacklisted, smsBlacklisted: body.smsBlacklisted, listIds: body.listIds, unlinkListIds: body.unlinkListIds });
    return { status: 204 };
  }

  getContact(type: IdentifierType, identifier: string): Answer {
    const c = this.find(type, identifier);
    return c ? { status: 200, body: c } : err(404, 'document_not_found', 'Contact does not exist');
  }

  /** `DELETE /contacts/{identifier}`: 204, 404 document_not_found, 405 for a contact the account may not delete. */
  deleteContact(type: IdentifierType, identifier: string): Answer {
    const c = this.find(type, identifier);
    if (!c) return err(404, 'document_not_found', 'Contact does not exist');
    if (this.undeletable.has(`${type}:${identifier}`)) return err(405, 'method_not_allowed', 'Contact deletion is not allowed');
    this.unindex(c);
    return { status: 204 };
  }

  /** `POST /contacts/batch`: updates existing contacts only; one unknown contact fails the whole batch and nothing is applied. */
  batchUpdate(body: unknown): Answer {
    if (!isObj(body) || !Array.isArray(body.contacts)) return err(400, 'missing_parameter', 'contacts is required');
    const entries = body.contacts as Obj[];
    const targets = entries.map((e) =>
      typeof e.email === 'string' ? this.byEmailAddress(e.email) : typeof e.ext_id === 'string' ? this.byExtId.get(e.ext_id) : typeof e.sms === 'string' ? this.bySms.get(e.sms) : typeof e.id === 'number' ? this.byId.get(e.id) : undefined,
    );
    const missing = targets.flatMap((t, i) => (t ? [] : [i]));
    if (missing.length) return err(404, 'document_not_found', `No contact found for indexes ${missing.join(',')}`);
    for (const e of entries) {
      const bad = this.checkAttributes(e.attributes) ?? this.checkLists(e.listIds, e.unlinkListIds);
      if (bad) return bad;
    }
    entries.forEach((e, i) => this.apply(targets[i]!, { attributes: e.attributes as Obj | undefined, emailBlacklisted: e.emailBlacklisted, smsBlacklisted: e.smsBlacklisted, listIds: e.listIds, unlinkListIds: e.unlinkListIds }));
    return { status: 204 };
  }

  /**
   * Apply one import (`jsonBody` entries) as Brevo does when the process runs:
   * unknown attributes are ignored (documented), rejected contacts go to the
   * report, by reason. Returns the report: reason -> rejected entries.
   */
  runImport(req: { jsonBody: Obj[]; listIds: number[]; updateExistingContacts: boolean; emptyContactsAttributes: boolean; emailBlacklist: boolean; smsBlacklist: boolean }): Map<string, Obj[]> {
    const report = new Map<string, Obj[]>();
    const reject = (why: string, e: Obj) => report.set(why, [...(report.get(why) ?? []), e]);
    const seen = { email: new Set<string>(), ext_id: new Set<string>(), sms: new Set<string>() };
    for (const e of req.jsonBody) {
      const a = isObj(e.attributes) ? e.attributes : {};
      const email = typeof e.email === 'string' ? e.email : undefined;
      const ext_id = typeof a.EXT_ID === 'string' ? a.EXT_ID : undefined;
      const sms = typeof a.SMS === 'string' ? a.SMS : undefined;
      if (email !== undefined && !EMAIL.test(email)) { reject('invalid_emails', e); continue; }
      if (sms !== undefined && !E164.test(sms)) { reject('invalid_sms', e); continue; }
      if (email === undefined && ext_id === undefined && sms === undefined) { reject('missing_identifier', e); continue; }
      if (email && seen.email.has(email.toLowerCase())) { reject('duplicate_email_id', e); continue; }
      if (ext_id && seen.ext_id.has(ext_id)) { reject('duplicate_ext_id', e); continue; }
      if (sms && seen.sms.has(sms)) { reject('duplicate_phone_id', e); continue; }
      if (email) seen.email.add(email.toLowerCase());
      if (ext_id) seen.ext_id.add(ext_id);
      if (sms) seen.sms.add(sms);
      const found = (email && this.byEmailAddress(email)) || (ext_id && this.byExtId.get(ext_id)) || (sms && this.bySms.get(sms)) || undefined;
      if (found && !req.updateExistingContacts) continue;
      if (this.conflict(found, { email, ext_id, sms }) || (found && email && found.email && found.email.toLowerCase() !== email.toLowerCase())) {
        reject(ext_id ? 'duplicate_ext_id' : 'duplicate_phone_id', e);
        continue;
      }
      const attributes: Obj = {};
      for (const [k, v] of Object.entries(a)) {
        if (k === 'EXT_ID' || !this.attributes.has(k)) continue;
        if (v === '' || v === null) {
          if (req.emptyContactsAttributes && found) delete found.attributes[k];
          continue;
        }
        attributes[k] = v;
      }
      const target = found ?? this.seed({});
      this.apply(target, { email, ext_id, attributes, listIds: req.listIds, emailBlacklisted: req.emailBlacklist ? true : undefined, smsBlacklisted: req.smsBlacklist ? true : undefined });
    }
    return report;
  }

  /**
   * `GET /contacts`: `limit` 0..1000 (default 50), `offset`, `modifiedSince`
   * (YYYY-MM-DDTHH:mm:ss.SSSZ, contacts modified at or after it), `sort` asc|desc
   * by creation (default desc), not by modification. `count` is the number matching.
   */
  listContacts(query: URLSearchParams): Answer {
    const limit = query.has('limit') ? Number(query.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000) return err(400, 'invalid_parameter', 'limit must be between 0 and 1000');
    const offset = query.has('offset') ? Number(query.get('offset')) : 0;
    if (!Number.isInteger(offset) || offset < 0) return err(400, 'invalid_parameter', 'offset must be a non-negative integer');
    const since = query.get('modifiedSince');
    if (since !== null && (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(since) || Number.isNaN(Date.parse(since)))) {
      return err(400, 'invalid_parameter', 'modifiedSince must be formatted YYYY-MM-DDTHH:mm:ss.SSSZ');
    }
    const sort = query.get('sort') ?? 'desc';
    if (sort !== 'asc' && sort !== 'desc') return err(400, 'invalid_parameter', 'sort must be asc or desc');
    const matching = this.all()
      .filter((c) => since === null || Date.parse(c.modifiedAt) >= Date.parse(since))
      .sort((a, b) => (Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id) * (sort === 'asc' ? 1 : -1));
    return { status: 200, body: { contacts: matching.slice(offset, offset + limit), count: matching.length } };
  }
}
