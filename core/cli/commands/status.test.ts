import { emptyCounts } from '../../delivery/send.js';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/types.js';
import { formatDuration, formatRun } from './inspect.js';

const summary = {
  streams: { people: { read: 4000, written: 3990, deadLettered: 10, warnings: 2 } },
  profiles: { created: 3000, updated: 900, merged: 90 },
};

describe('status lines', () => {
  it('a running sync shows its live counts, how long it has run and where', () => {
    const r: RunRecord = { id: 7, name: 'crm', kind: 'sync', startedAt: '2026-01-01T00:00:00.000Z', status: 'running', summary, pid: 4242, host: 'worker-1' };
    expect(formatRun(r, Date.parse('2026-01-01T00:03:05.000Z'))).toBe(
      '#7 sync crm running since 2026-01-01T00:00:00.000Z (3m 05s so far, pid 4242 on worker-1)  read 4000, written 3990, dead-lettered 10, field warnings 2; profiles +3000 ~900 merged 90',
    );
  });
  it('a finished run shows its end time, duration, deliveries and why it stopped', () => {
    const r: RunRecord = {
      id: 8,
      name: 'crm',
      kind: 'sync',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:12.340Z',
      status: 'interrupted',
      summary: { ...summary, destinations: { hook: { ...emptyCounts(), delivered: 5, failed: 1, retried: 2, requests: 3 } } },
      error: 'interrupted by SIGTERM; the next run resumes from the last committed checkpoint',
    };
    expect(formatRun(r, 0)).toBe(
      '#8 sync crm interrupted 2026-01-01T00:00:00.000Z -> 2026-01-01T00:00:12.340Z (12.3s)  read 4000, written 3990, dead-lettered 10, field warnings 2; profiles +3000 ~900 merged 90; hook: delivered 5, unchanged 0, failed 1, retried 2, requests 3; interrupted by SIGTERM; the next run resumes from the last committed checkpoint',
    );
  });
  it('a sync that failed before committing anything says so', () => {
    const r: RunRecord = { id: 9, name: 'crm', kind: 'sync', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T01:02:03.000Z', status: 'failed', error: 'boom' };
    expect(formatRun(r, 0)).toBe('#9 sync crm failed 2026-01-01T00:00:00.000Z -> 2026-01-01T01:02:03.000Z (1h 02m)  nothing committed; boom');
  });
  it('durations read naturally', () => {
    expect(formatDuration(950)).toBe('0.9s');
    expect(formatDuration(61_000)).toBe('1m 01s');
    expect(formatDuration(7_260_000)).toBe('2h 01m');
  });
});
