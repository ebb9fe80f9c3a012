import { HttpRelayDriver } from './http.driver.js';
import { PostfixMapsRelayDriver } from './postfix-maps.driver.js';
import { RelayError, type RelayDriver, type RelayDriverConfig } from './relay-driver.js';

/** Builds the configured driver; a missing or unusable setting fails here, at start-up, not at the first job. */
export function createRelayDriver(config: RelayDriverConfig): RelayDriver {
  switch (config.driver) {
    case 'postfix-maps':
      return new PostfixMapsRelayDriver({ dataDir: config.dataDir, relayDir: config.relayDir, reloadCommand: config.reloadCommand });
    case 'http':
      if (!config.httpUrl) throw new RelayError(`the http relay driver needs a URL (${config.relayDir ? 'HOSTPLANE_AGENT_RELAY_HTTP_URL' : 'HOSTPLANE_RELAY_HTTP_URL'})`);
      return new HttpRelayDriver({ url: config.httpUrl, timeoutMs: config.httpTimeoutMs });
    default: {
      const unknown: never = config.driver;
      throw new RelayError(`unknown relay driver ${JSON.stringify(unknown)}`);
    }
  }
}
