import { describe, expect, it } from 'vitest';
import { checkMessage, eventTime, flatten } from './segment.js';
import { basicAuthUser } from './handler.js';

const received = Date.parse('2026-12-01T12:00:10.000Z');

describe('Segment messages', () => {
  it('corrects the device clock: timestamp = receivedAt - (sentAt - originalTimestamp)', () => {
    // The device clock runs 1 hour fast; the event happened 5 s before it was sent.
    const msg = { originalTimestamp: '2026-12-01T13:00:00.000Z', sentAt: '2026-12-01T13:00:05.000Z' };
    expect(eventTime(msg, received)).toBe('2026-12-01T12:00:05.000Z');
    // sentAt may be on the batch instead of the message.
    expect(eventTime({ originalTimestamp: '2026-12-01T13:00:00.000Z' }, received, '2026-12-01T13:00:05.000Z')).toBe('2026-12-01T12:00:05.000Z');
    // An explicit timestamp is the client's word for it.
    expect(eventTime({ ...msg, timestamp: '2026-11-30T08:00:00Z' }, received)).toBe('2026-11-30T08:00:00.000Z');
    expect(eventTime({}, received)).toBe('2026-12-01T12:00:10.000Z');
  });

  it('refuses messages the spec refuses, and stamps the rest', () => {
    expect(checkMessage({ event: 'x' }, 'track', received, 'track')).toMatchObject({ ok: false, status: 400 });
    expect(checkMessage({ userId: 'u', event: 'x', traits: 'not an object' }, 'track', received, 'track')).toMatchObject({ ok: false, status: 400 });
    expect(checkMessage({ userId: 'u', type: 'bogus' }, undefined, received, 'batch[3]')).toMatchObject({ ok: false, error: expect.stringMatching(/^batch\[3\]/) });
    const ok = checkMessage({ anonymousId: 'a1', name: 'Home', writeKey: 'wk_secret_123' }, 'page', received, 'page');
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.message).toMatchObject({ type: 'page', receivedAt: '2026-12-01T12:00:10.000Z', timestamp: '2026-12-01T12:00:10.000Z' });
    expect(ok.message.messageId).toMatch(/^srv-/);
    expect(ok.message).not.toHaveProperty('writeKey');
  });

  it('stamps each request with its own receivedAt (the ISO text is remembered only for the same instant)', () => {
    const at = (ms: number) => checkMessage({ userId: 'u', event: 'x' }, 'track', ms, 'track');
    const first = at(received);
    const later = at(received + 1500);
    expect(first.ok && first.message.receivedAt).toBe('2026-12-01T12:00:10.000Z');
    expect(later.ok && later.message).toMatchObject({ receivedAt: '2026-12-01T12:00:11.500Z', timestamp: '2026-12-01T12:00:11.500Z' });
  });

  it('flattens traits (context.traits under traits), consent purposes and the page name as the event', () => {
    const f = flatten({
      type: 'page',
      messageId: 'm',
      anonymousId: 'a1',
      name: 'Pricing',
      traits: { plan: 'pro' },
      context: { traits: { plan: 'free', email: 'a@b.io' }, consent: { categoryPreferences: { marketing: false } }, ip: '1.2.3.4' },
    });
    expect(f).toMatchObject({ event: 'Pricing', userId: null, email: 'a@b.io', traits: { plan: 'pro', email: 'a@b.io' }, consent: { marketing: false }, ip: '1.2.3.4' });
  });

  it('reads the write key from basic auth with an empty password', () => {
    expect(basicAuthUser(`Basic ${Buffer.from('wk_1234567:').toString('base64')}`)).toBe('wk_1234567');
    expect(basicAuthUser('Bearer x')).toBeUndefined();
  });
});
