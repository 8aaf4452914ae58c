import { destinationDeliveryKit } from '../../test/kit/delivery-kit.js';
import { startBrevoServer, type BrevoServer } from './__fixtures__/brevo-server.js';
import { brevoConfigSchema, type BrevoConfig } from './config.js';
import { brevoDestination } from './destination.js';

// One contract server per check (a fresh account), all closed at the end.
const servers = new Map<string, BrevoServer>();

destinationDeliveryKit<BrevoConfig>({
  connector: brevoDestination,
  async setup() {
    const s = await startBrevoServer({ rateLimit: { perSecond: 10 } });
    servers.set(s.url, s);
    return brevoConfigSchema.parse({ apiKey: s.apiKey, baseUrl: s.url, listIds: [1], timeoutMs: 5000 });
  },
  teardown: async () => {
    for (const s of servers.values()) await s.close();
  },
  held: async (c) => servers.get(c.baseUrl)!.contacts().length,
  requests: async (c) => servers.get(c.baseUrl)!.requests.length,
});
