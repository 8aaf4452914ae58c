import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { streamSchema } from '../config/schema.js';
import { identifierGuess, streamStanza, traitName } from './discover-yaml.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'discover-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tributary discover --yaml', () => {
  it('prints stream stanzas for a CSV source that the config schema accepts as they are', async () => {
    writeFileSync(join(dir, 'crm.csv'), 'crm_id,E-Mail,mobile_phone,first_name,Last Name,updated_at\n1,a@x.com,+14155550100,Ann,Lee,2026-01-01T00:00:00Z\n');
    writeFileSync(
      join(dir, 'tributary.yaml'),
      'store: { sqlite: ./t.db }\nsources:\n  - name: crm\n    connector: csv\n    streams:\n      - name: customers\n        primaryKey: crm_id\n        config: { path: ./crm.csv }\n        mapping: { identifiers: { email: E-Mail } }\n',
    );
    const { stdout } = await promisify(execFile)('node', [CLI, '-c', join(dir, 'tributary.yaml'), 'discover', 'crm', '--yaml'], { cwd: dir });
    const pasted = parse(stdout) as { streams: unknown[] };
    expect(pasted.streams).toHaveLength(1);
    const stream = streamSchema.parse(pasted.streams[0]);
    expect(stream).toMatchObject({
      name: 'customers',
      primaryKey: 'crm_id',
      cursor: 'updated_at',
      config: { path: './crm.csv' },
      mapping: {
        identifiers: { email: 'E-Mail', phone: 'mobile_phone' },
        traits: { firstName: 'first_name', lastName: 'Last Name' },
        observedAt: 'updated_at',
      },
    });
    expect(Object.keys(stream.mapping.traits)).toEqual(['firstName', 'lastName']);
    expect(stdout.startsWith('# Paste under the source in your config')).toBe(true);
  });

  it('guesses identifiers by name and format, and leaves other fields alone', () => {
    expect(['email', 'E-Mail', 'work_email', 'contactEmail', 'contact', 'emailed_count'].map((f) => identifierGuess(f))).toEqual(['email', 'email', 'email', 'email', undefined, undefined]);
    expect(identifierGuess('contact', 'email')).toBe('email');
    expect(['phone', 'MobileNumber', 'home_tel', 'hotel', 'cancellation'].map((f) => identifierGuess(f))).toEqual(['phone', 'phone', 'phone', undefined, undefined]);
    expect(traitName('first_name')).toBe('firstName');
    expect(traitName('Last Name')).toBe('lastName');
  });

  it('says what it could not guess, as comments', () => {
    const { stanza, notes } = streamStanza({
      stream: { name: 'rows', fields: { a: { type: ['string'] }, b: { type: ['string'] } }, primaryKey: [], cursorCandidates: [], supportedModes: ['full_refresh'] },
    });
    expect(stanza).toMatchObject({ name: 'rows', mode: 'full_refresh', primaryKey: 'TODO' });
    expect(notes).toEqual([
      'no email- or phone-looking field: map an external_id.<namespace> to the primary key, or the records stay unlinked',
      'no primary key reported: set primaryKey to the field(s) that identify a row',
    ]);
  });
});
