import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { createServer, type ServerResponse, type Server } from 'node:http';
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
      const headers = Object.fromEntries(response.headers);
      if (!response.body) {
        res.writeHead(response.status, headers).end();
      } else if (!response.headers.get('content-type')?.includes('text/event-stream')) {
        // A whole answer: one write with its length (not a chunked body and its terminator).
        const body = Buffer.from(await response.arrayBuffer());
        res.writeHead(response.status, { ...headers, 'content-length': String(body.length) }).end(body);
      } else {
        res.writeHead(response.status, headers);
        await streamEvents(response.body, res);
      }
    } catch (error) {
      services.log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    }
  });
}

/**
 * Writes an SSE body, coalescing what is produced in one turn of the event
 * loop into one socket write: each SSE message arrives as several chunks
 * (data, id, blank line), and a commit's events arrive together.
 */
async function streamEvents(body: ReadableStream<Uint8Array>, res: ServerResponse) {
  const reader = body.getReader();
  res.on('close', () => void reader.cancel().catch(() => {}));
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!corked) {
        corked = true;
        res.cork();
        setImmediate(uncork);
      }
      if (!res.write(value)) await new Promise<void>((resolve) => {
        const go = () => {
          res.off('drain', go);
          res.off('close', go);
          resolve();
        };
        res.on('drain', go);
        res.on('close', go);
      });
    }
  } catch {
    // The client went away (cancelled reader) or the stream failed: end what was sent.
  }
  if (corked) uncork();
  if (!res.writableEnded) res.end();
}
