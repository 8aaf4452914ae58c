import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { captureLogger } from '../../test/kit/context.js';
import { positiveInt, progressReporter, signalExitCode } from './shared.js';

describe('positiveInt', () => {
  it('accepts whole numbers from 1 and refuses anything else with one clear message', () => {
    expect(positiveInt('20')).toBe(20);
    expect(positiveInt(' 3 ')).toBe(3);
    for (const bad of ['abc', '0', '-1', '1.5', '', '1e3', '99999999999999999999']) {
      expect(() => positiveInt(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => positiveInt('abc')).toThrow('expected a whole number from 1 up (for example 20)');
  });
});

describe('signalExitCode', () => {
  it('is 128 + the signal number, as shells report it', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });
});

describe('progressReporter', () => {
  it('off a terminal, logs a sync\'s counts at most once per interval', () => {
    let now = 1_000;
    const logger = captureLogger();
    const report = progressReporter({ tty: false, logger, everyMs: 30_000, now: () => now });
    report({ sync: 'crm', read: 500, written: 500 });
    now += 29_999;
    report({ sync: 'crm', read: 1000, written: 1000 });
    now += 1;
    report({ sync: 'crm', read: 1500, written: 1400 });
    now += 10_000;
    report({ sync: 'crm', read: 2000, written: 1900 });
    expect(logger.entries.map((e) => `${e.level} ${e.message}`)).toEqual(['info sync crm: read 1500, written 1400 so far']);
  });
  it('on a terminal, rewrites one line in place and logs nothing', () => {
    const logger = captureLogger();
    const out: string[] = [];
    const report = progressReporter({ tty: true, logger, everyMs: 30_000, write: (s) => out.push(s) });
    report({ sync: 'crm', read: 5, written: 4 });
    expect(out).toEqual(['\r  crm: read 5, written 4   ']);
    expect(logger.entries).toEqual([]);
  });
});
