/**
 * `tributary/plugin/kit`: the connector test kits, for a plugin's own tests
 * (they call vitest's describe/it, so vitest must be a dev dependency of the plugin).
 */
export { sourceConnectorKit, collect, type SourceKitOptions } from '../../test/kit/source-kit.js';
export { destinationConnectorKit, sampleProfiles, type DestinationKitOptions } from '../../test/kit/destination-kit.js';
export { destinationDeliveryKit, type DeliveryKitOptions } from '../../test/kit/delivery-kit.js';
export { testContext, captureLogger, countingMetrics, expectRefused, type CapturedLog } from '../../test/kit/context.js';
export { inlineSource, memoryDestination } from '../../test/kit/inline-source.js';
