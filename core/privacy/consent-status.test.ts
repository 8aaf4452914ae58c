import { describe, expect, it } from 'vitest';
import { describeCounts, destinationStatusLines } from '../cli/commands/deliver.js';

const counts = { delivered: 1, unchanged: 0, filtered: 0, deleted: 0, failed: 0, retried: 0, pending: 0, requests: 1, throttledMs: 0 };

describe('status shows consent bookkeeping per destination', () => {
  it('pending withdrawals, withdrawals done, and a destination that cannot withdraw', () => {
    const [brevo, sftp] = destinationStatusLines([
      { name: 'brevo', connector: 'brevo', trigger: 'after-sync', backlog: 0, consent: { purpose: 'email_marketing', withdraw: 'mark', pendingWithdrawals: 2, withdrawn: 5 } },
      { name: 'drop', connector: 'legacy', trigger: 'manual', backlog: 3, consent: { purpose: 'advertising', withdraw: 'none', pendingWithdrawals: 1, withdrawn: 0 } },
    ]);
    expect(brevo).toBe('destination brevo (brevo, after-sync): 0 queued; never delivered; purpose email_marketing: 2 withdrawal(s) pending, 5 withdrawn');
    expect(sftp).toContain('purpose advertising: 1 withdrawal(s) pending, 0 withdrawn (legacy cannot withdraw: remove them there by hand)');
  });

  it('a delivery line names what consent held back and withdrew', () => {
    expect(describeCounts({ ...counts, withheld: 4, withdrawn: 1, cannotWithdraw: 2 })).toBe(
      'delivered 1, unchanged 0, failed 0, withheld (no consent) 4, consent withdrawn 1, cannot withdraw 2, requests 1',
    );
  });
});
