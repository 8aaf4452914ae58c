// The plugin's own tests, run the way its author runs them: `npm test` (node --test)
// in the plugin's folder, with tributary installed beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSupportedApiVersion } from 'tributary/plugin';
import plugin, { parseCards, vcardSource } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const ctx = (dir) => ({ name: 'test', config: vcardSource.spec.config.parse({ dir }), logger: silent, metrics: { count() {} }, signal: new AbortController().signal });
const stream = { name: 'contacts', mode: 'full_refresh', config: { file: 'people.vcf' } };

const CARDS = [
  'BEGIN:VCARD', 'VERSION:4.0', 'UID:urn:uuid:1', 'FN:Ann Lee', 'N:Lee;Ann;;;', 'ORG:Acme\\, Inc.;Sales',
  'EMAIL;TYPE=work:ann@work.example', 'EMAIL;TYPE=home;PREF=1:ann@home.example', 'TEL;VALUE=uri;TYPE=cell:tel:+33145678901', 'NOTE:first line\\nsecond', ' folded', 'END:VCARD',
  'BEGIN:VCARD', 'VERSION:3.0', 'FN:No Uid', 'END:VCARD',
  'BEGIN:VCARD', 'VERSION:3.0', 'UID:2', 'FN:Bob', 'item1.EMAIL:bob@x.example', 'END:VCARD',
  '',
].join('\r\n');

test('declares a plugin this engine accepts', () => {
  assert.equal(plugin.name, 'tributary-plugin-vcard');
  assert.ok(isSupportedApiVersion(plugin.apiVersion));
});

test('parses cards: names, the preferred email first, tel: URIs, escapes, grouped properties', () => {
  const cards = [...parseCards(CARDS)];
  assert.deepEqual(cards[0].card, {
    uid: 'urn:uuid:1', fullName: 'Ann Lee', givenName: 'Ann', familyName: 'Lee', org: 'Acme, Inc.',
    email: 'ann@home.example', phone: '+33145678901', emails: ['ann@home.example', 'ann@work.example'], phones: ['+33145678901'],
  });
  assert.deepEqual(cards[1], { line: 13, error: 'card has no UID (the primary key)' });
  assert.equal(cards[2].card.email, 'bob@x.example');
});

test('read yields every good card, dead-letters a bad one with file:line, and does not stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcard-plugin-'));
  writeFileSync(join(dir, 'people.vcf'), CARDS + 'BEGIN:VCARD\r\nUID:3\r\n');
  const out = [];
  for await (const m of vcardSource.read(ctx(dir), [stream], {})) out.push(m);
  assert.deepEqual(out.filter((m) => m.type === 'record').map((m) => m.data.uid), ['urn:uuid:1', '2']);
  assert.deepEqual(out.filter((m) => m.type === 'error').map((m) => [m.origin, m.reason]), [
    [`${join(dir, 'people.vcf')}:13`, 'card has no UID (the primary key)'],
    [`${join(dir, 'people.vcf')}:23`, 'card has no END:VCARD'],
  ]);
  assert.equal(out.at(-1).type, 'state');
});

test('check names the missing folder or file instead of throwing; bad config is refused by the schema', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcard-plugin-'));
  assert.deepEqual(await vcardSource.check(ctx(join(dir, 'nope'))), { ok: false, message: `folder ${join(dir, 'nope')} does not exist` });
  const r = await vcardSource.check(ctx(dir), [stream]);
  assert.match(r.message, /stream contacts: file .*people\.vcf does not exist/);
  assert.equal(vcardSource.spec.config.safeParse({ dir: '' }).success, false);
  assert.equal(vcardSource.spec.config.safeParse({}).success, false);
});
