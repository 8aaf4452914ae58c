import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureConnectorKit } from '../../test/kit/fixture-kit.js';

// The vitest face of `tributary test connector`: the same checks, as one test.
const here = dirname(fileURLToPath(import.meta.url));
fixtureConnectorKit(join(here, '__fixtures__', 'plugins', 'good'), join(here, '__fixtures__', 'kit.yaml'));
