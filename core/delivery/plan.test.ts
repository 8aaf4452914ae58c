import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { customers, deliveryConfig, startDelivery } from './__fixtures__/harness.js';
import { recordingDestination } from './__fixtures__/recording-destination.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function planError(dest: Record<string, unknown>, connector = recordingDestination()) {
  const { file } = deliveryConfig({ customers: customers(1) }, dest);
  const s = await startDelivery(file, connector);
  opened.push(s);
  try {
    s.engine.destinationPlan('out');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { err: err as ConfigError, file };
  }
  throw new Error('planned without an error');
}

describe('destination plans fail fast at load, naming the YAML line', () => {
  it('a where: that does not parse: file, line, path and column', async () => {
    const { err, file } = await planError({ where: 'traits.country = "FR" and (computed.orders > 2' });
    expect(err.describe()).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+, sync out: destinations\\[0\\]\\.where: cannot parse the filter: expected "\\)" but found the end at column 47$`));
    expect(err.context.line).toBeGreaterThan(1);
  });

  it('a mapping name the destination does not take', async () => {
    const { err } = await planError({ mapping: { firstname: 'traits.firstName' } });
    expect(err.message).toBe('destinations[0].mapping.firstname: "firstname" is not a valid name here (expected upper-case names)');
  });

  it('a rate budget the connector does not have, and events to a destination that takes none', async () => {
    expect((await planError({ rateLimit: { contacts: { perSecond: 5 } } })).err.message).toBe(
      'destinations[0].rateLimit.contacts: connector recording has no budget "contacts" (its budgets: default)',
    );
    expect((await planError({ events: true }, recordingDestination({ events: false }))).err.message).toBe('destinations[0].events: connector recording does not take events');
  });

  it('a mapping or filter naming a trait no source produces is a warning with its line, not an error', async () => {
    const { file } = deliveryConfig({ customers: customers(1) }, { mapping: { NICK: 'traits.nickname' }, where: 'computed.ltv > 3' });
    const s = await startDelivery(file);
    opened.push(s);
    const plan = s.engine.destinationPlan('out');
    expect(plan.warnings).toEqual([
      expect.stringMatching(/:\d+: destinations\[0\]\.mapping\.NICK: no source maps trait "nickname" \(traits mapped: country, email, firstName, phone\)$/),
      expect.stringMatching(/:\d+: destinations\[0\]\.where: no computed trait "ltv" in resolution.computed \(defined: none\)$/),
    ]);
    expect(s.logger.entries.filter((e) => e.level === 'warn').map((e) => e.message)).toEqual(plan.warnings);
  });

  it('a mapping on a destination that takes none (the file snapshot) is refused', async () => {
    const { file } = deliveryConfig({ customers: customers(1) }, { connector: 'file', config: { path: '/tmp/x.jsonl', format: 'jsonl' }, mapping: { EMAIL: 'identifiers.email' } });
    const s = await startDelivery(file);
    opened.push(s);
    expect(() => s.engine.destinationPlan('out')).toThrow('destinations[0].mapping: connector file takes no mapping: it writes whole profiles');
  });

  it('an unknown destination connector points at its connector: line', async () => {
    const { err } = await planError({ connector: 'nosuch' });
    expect(err.message).toMatch(/^destinations\[0\]\.connector: .*nosuch/);
    expect(err.context.line).toBeGreaterThan(1);
  });
});
