// @ts-check
// A Tributary plugin that lives outside the core: it imports only the public
// entry `tributary/plugin` and is published and installed like any npm package.
// It reads vCard files (.vcf), the format address books and phones export contacts in.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { definePlugin, PLUGIN_API_VERSION, z } from 'tributary/plugin';

/** @typedef {{ dir: string }} VcardConfig */
/** @typedef {{ file: string }} VcardStream */

const config = z.object({
  dir: z.string().min(1).describe('Folder holding the .vcf files, relative to the config file.'),
});
const stream = z.object({
  file: z.string().min(1).describe('The stream\'s .vcf file in `dir` (one or more cards).'),
});

/** The fields a card becomes; arrays keep every email and phone, `email`/`phone` the preferred one. */
const FIELDS = /** @type {const} */ ({
  uid: 'string', fullName: 'string', givenName: 'string', familyName: 'string', org: 'string',
  email: 'string', phone: 'string', emails: 'array', phones: 'array',
});

/**
 * @param {import('tributary/plugin').ConnectorContext<VcardConfig>} ctx
 * @param {string} [file]
 */
function where(ctx, file) {
  const dir = isAbsolute(ctx.config.dir) ? ctx.config.dir : resolve(ctx.baseDir ?? process.cwd(), ctx.config.dir);
  return file === undefined ? dir : join(dir, file);
}

/** vCard escapes (RFC 6350 3.4): \n, \, \; \\ */
const unescape = (/** @type {string} */ v) => v.replace(/\\([nN,;\\])/g, (_, c) => (c === 'n' || c === 'N' ? '\n' : c));

/**
 * Cards of a file. Folded lines (a leading space or tab) are joined first.
 * @param {string} text
 * @returns {Generator<{ line: number, card?: Record<string, unknown>, error?: string }>}
 */
export function* parseCards(text) {
  /** @type {Array<{ line: number, text: string }>} */
  const unfolded = [];
  text.split(/\r?\n/).forEach((t, i) => {
    if (/^[ \t]/.test(t) && unfolded.length) unfolded[unfolded.length - 1].text += t.slice(1);
    else unfolded.push({ line: i + 1, text: t });
  });
  /** @type {{ line: number, props: Array<{ name: string, params: string, value: string }> } | undefined} */
  let open;
  for (const { line, text: t } of unfolded) {
    if (t.trim() === '') continue;
    const m = /^(?:[\w-]+\.)?([A-Za-z-]+)((?:;[^:]*)?):(.*)$/.exec(t);
    if (!m) {
      if (open) yield { line: open.line, error: `line ${line}: not a vCard property: ${t.slice(0, 60)}` };
      open = undefined;
      continue;
    }
    const name = m[1].toUpperCase();
    if (name === 'BEGIN' && m[3].toUpperCase() === 'VCARD') {
      if (open) yield { line: open.line, error: 'card has no END:VCARD' };
      open = { line, props: [] };
    } else if (name === 'END' && open) {
      yield toCard(open.line, open.props);
      open = undefined;
    } else if (open) {
      open.props.push({ name, params: m[2].toUpperCase(), value: m[3] });
    }
  }
  if (open) yield { line: open.line, error: 'card has no END:VCARD' };
}

/**
 * @param {number} line
 * @param {Array<{ name: string, params: string, value: string }>} props
 */
function toCard(line, props) {
  const one = (/** @type {string} */ n) => props.find((p) => p.name === n)?.value;
  const many = (/** @type {string} */ n) =>
    props.filter((p) => p.name === n).sort((a, b) => Number(b.params.includes('PREF')) - Number(a.params.includes('PREF'))).map((p) => unescape(p.value.replace(/^tel:/i, '')));
  const uid = one('UID');
  const fn = one('FN');
  if (!uid) return { line, error: 'card has no UID (the primary key)' };
  const [familyName, givenName] = (one('N') ?? '').split(';').map(unescape);
  const emails = many('EMAIL');
  const phones = many('TEL');
  /** @type {Record<string, unknown>} */
  const card = { uid: unescape(uid), fullName: fn && unescape(fn), givenName: givenName || undefined, familyName: familyName || undefined,
    org: one('ORG') && unescape(/** @type {string} */ (one('ORG')).split(';')[0]), email: emails[0], phone: phones[0], emails, phones };
  for (const k of Object.keys(card)) if (card[k] === undefined) delete card[k];
  return { line, card };
}

/** @type {import('tributary/plugin').SourceConnector<VcardConfig, VcardStream>} */
export const vcardSource = {
  id: 'vcard',
  kind: 'source',
  spec: { config, stream },

  async check(ctx, streams) {
    const dir = where(ctx);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return { ok: false, message: `folder ${dir} does not exist` };
    for (const s of streams ?? []) {
      const f = where(ctx, s.config.file);
      if (!existsSync(f)) return { ok: false, message: `stream ${s.name}: file ${f} does not exist` };
    }
    return { ok: true };
  },

  async discover(ctx, streams) {
    /** @type {Record<string, import('tributary/plugin').FieldSchema>} */
    const fields = {};
    for (const [k, t] of Object.entries(FIELDS)) fields[k] = { type: [t] };
    return (streams ?? [{ name: 'contacts' }]).map((s) => ({ name: s.name, fields, primaryKey: ['uid'], cursorCandidates: [], supportedModes: ['full_refresh'] }));
  },

  async *read(ctx, streams) {
    for (const s of streams) {
      const path = where(ctx, s.config.file);
      for (const { line, card, error } of parseCards(readFileSync(path, 'utf8'))) {
        if (ctx.signal.aborted) return;
        const origin = `${path}:${line}`;
        if (card) yield { type: 'record', stream: s.name, data: card, origin };
        else yield { type: 'error', stream: s.name, reason: error ?? 'bad card', origin };
      }
      // A .vcf export is rewritten whole: every read is a full refresh, the state only records when.
      yield { type: 'state', stream: s.name, state: { readAt: new Date().toISOString() } };
    }
  },
};

export default definePlugin({
  name: 'tributary-plugin-vcard',
  version: '1.0.0',
  apiVersion: PLUGIN_API_VERSION,
  sources: [vcardSource],
});
