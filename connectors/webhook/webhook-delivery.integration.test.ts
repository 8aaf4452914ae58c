import { randomBytes } from 'node:crypto';
import { destinationDeliveryKit } from '../../test/kit/delivery-kit.js';
import { startReceiver, type Receiver } from './__fixtures__/receiver.js';
import { webhookConfigSchema, type WebhookConfig } from './config.js';
import { webhookDestination } from './destination.js';

const receivers = new Map<string, Receiver>();

destinationDeliveryKit<WebhookConfig>({
  connector: webhookDestination,
  async setup() {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const r = await startReceiver({ secret });
    receivers.set(r.url, r);
    return webhookConfigSchema.parse({ url: r.url, secret });
  },
  teardown: async () => {
    for (const r of receivers.values()) await r.close();
  },
  held: async (c) => receivers.get(c.url)!.held.size,
  requests: async (c) => receivers.get(c.url)!.attempts.length,
});
