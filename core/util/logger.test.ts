import { describe, expect, it } from 'vitest';
import { Redactor } from './logger.js';

describe('Redactor', () => {
  const r = new Redactor(new Set(['hunter2-secret']));

  it('hides known secrets and the password of any URL, with or without a user name', () => {
    expect(r.redact('token hunter2-secret sent')).toBe('token *** sent');
    expect(r.redact('connect postgres://app:pa55word@db:5432/crm failed')).toBe('connect postgres://app:***@db:5432/crm failed');
    expect(r.redact('queue redis://:s3cret-pw@10.0.0.5:6379 down')).toBe('queue redis://:***@10.0.0.5:6379 down');
    expect(r.redact('plain http://host:8080/path stays')).toBe('plain http://host:8080/path stays');
  });

  it('hides values of keys that name a secret in structured fields', () => {
    expect(r.redactValue({ apiKey: 'abc', url: 'mysql://u:p4ss@h/db', nested: [{ password: 'x' }] })).toEqual({ apiKey: '***', url: 'mysql://u:***@h/db', nested: [{ password: '***' }] });
  });
});
