import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { createTrpcHandler, TRPC_ENDPOINT } from './http.ts';
import type { Services } from './services.ts';

/**
 * The API alone on a plain Node HTTP server, with the same fetch handler the
 * Next route uses: for headless deployments, tests and benchmarks that do not
 * need the web UI.
 */
export function createApiServer(services: Services): Server {
  const handler = createTrpcHandler(services);
  return createServer(async (req, res) => {
    res.on('finish', () => services.metrics.httpRequest(res.statusCode));
    if (services.metrics.serve(req, res)) return;
    if (!req.url?.startsWith(TRPC_ENDPOINT)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const response = await handler(incomingMessageToRequest(req, res, { maxBodySize: 2_000_000 }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) {
        const body = Readable.fromWeb(response.body as never);
        res.on('close', () => body.destroy());
        body.pipe(res);
      } else {
        res.end();
      }
    } catch (error) {
      services.log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    }
  });
}
