import { createApiServer } from './node-server.ts';
import { loadConfigOrExit, onShutdown } from './process.ts';
import { startServices } from './services.ts';

/**
 * Headless API server: `tsx packages/api/src/serve.ts`. Prints
 * `READY http://localhost:<port>` when it accepts requests (PORT=0 picks a
 * free port); SIGTERM/SIGINT stop it cleanly.
 */
async function main() {
  const config = loadConfigOrExit();
  const services = await startServices(config);
  const server = createApiServer(services);
  await new Promise<void>((resolve) => server.listen(config.PORT, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  onShutdown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await services.stop();
  });
  console.log(`READY http://localhost:${port}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
