import { ConfigError, loadConfig } from './config.ts';
import { createApiServer } from './node-server.ts';
import { startServices } from './services.ts';

/**
 * Headless API server: `tsx packages/api/src/serve.ts`. Prints
 * `READY http://localhost:<port>` when it accepts requests (PORT=0 picks a
 * free port); SIGTERM/SIGINT stop it cleanly.
 */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const services = await startServices(config);
  const server = createApiServer(services);
  await new Promise<void>((resolve) => server.listen(config.PORT, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  console.log(`READY http://localhost:${port}`);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await services.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
