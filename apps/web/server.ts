import { createApiHandler, createTrpcHandler, loadConfigOrExit, onShutdown, startServices } from '@chat/api';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';

/**
 * The one server process: starts the services (database, migrations, run
 * worker, LISTEN connection) exactly once, mounts Next beside them, and stops
 * everything cleanly on SIGTERM/SIGINT. The API (/api/trpc, /api/auth/*) is
 * answered before Next sees the request; the Next route handlers reach the
 * same handlers through globalThis (Next bundles its own copy of the
 * workspace packages).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(here, '../..');
const dev = process.argv.includes('--dev');

async function main() {
  const config = loadConfigOrExit();
  const services = await startServices(config, { rootDir });
  (globalThis as { __chatTrpcHandler?: unknown }).__chatTrpcHandler = createTrpcHandler(services);
  (globalThis as { __chatAuthHandler?: unknown }).__chatAuthHandler = (request: Request) => services.auth.handler(request);
  // /api/trpc, /api/auth/* and /metrics are answered here (the body limit, the guest limit); the rest by Next.
  const api = createApiHandler(services);

  const app = next({ dev, dir: here, port: config.PORT, hostname: '0.0.0.0' });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = createServer((req, res) => {
    res.on('finish', () => services.metrics.httpRequest(res.statusCode));
    if (!api(req, res)) void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  onShutdown(async (signal) => {
    services.log.info({ signal }, 'shutting down');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await app.close?.();
    await services.stop();
  });
  services.log.info({ port, dev }, `listening on http://localhost:${port}`);
  // Machine-readable line for tests and scripts that start the server.
  console.log(`READY http://localhost:${port}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
