import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createAuthHandler, AUTH_ENDPOINT } from './auth/handler.ts';
import { createTrpcHandler, TRPC_ENDPOINT } from './http.ts';
import type { Services } from './services.ts';

/**
 * The HTTP entry of the API, one for every server: /metrics, /api/auth/*
 * (better-auth) and /api/trpc, with the body size limit checked before a byte
 * of the body is read. Returns false for any other path (the web server hands
 * those to Next).
 */
export function createApiHandler(services: Services) {
  const trpc = createTrpcHandler(services);
  const auth = createAuthHandler(services);
  const maxBodySize = services.config.MAX_BODY_BYTES;
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (services.metrics.serve(req, res)) return true;
    const url = req.url ?? '/';
    const isTrpc = url.startsWith(TRPC_ENDPOINT);
    const isAuth = url.startsWith(AUTH_ENDPOINT);
    if (!isTrpc && !isAuth) return false;
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > maxBodySize) {
      tooLarge(res, maxBodySize);
      linger(req);
      return true;
    }
    void (async () => {
      try {
        const request = incomingMessageToRequest(req, res, { maxBodySize });
        const response = isTrpc ? await trpc(request) : await auth(request, clientAddress(req, services.config.TRUST_PROXY === 'on'));
        await writeResponse(response, res);
      } catch (error) {
        if ((error as { code?: unknown })?.code === 'PAYLOAD_TOO_LARGE') return tooLarge(res, maxBodySize);
        services.log.error({ err: error }, 'request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.end();
      }
    })();
    return true;
  };
}

/** The API alone on a plain Node HTTP server: for headless deployments, tests and benchmarks. */
export function createApiServer(services: Services): Server {
  const handle = createApiHandler(services);
  return createServer((req, res) => {
    res.on('finish', () => services.metrics.httpRequest(res.statusCode));
    if (!handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
}

function tooLarge(res: ServerResponse, max: number) {
  const body = JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: `The request body may have at most ${max} bytes.` } });
  // Answered at once; the rest of the body is not read (the connection closes after the answer).
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close', 'content-length': Buffer.byteLength(body) }).end(body);
}

/**
 * Lingering close (as nginx does) after an early 413: a connection closed with
 * the client's data unread is reset, and a client still sending (any body over
 * a few MB) then sees EPIPE instead of the answer, and may retry it. What it
 * still sends is discarded, never buffered, for at most LINGER_MS; then the
 * connection is closed whatever remains.
 */
const LINGER_MS = 2_000;
function linger(req: IncomingMessage) {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // Node closes a `connection: close` answer's socket once it is written: end our side only, keep reading (and dropping).
  socket.destroySoon = () => {
    socket.end();
    if (req.readableEnded) socket.destroy();
    else req.once('end', () => socket.destroy());
  };
  req.resume();
}

function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
  return forwarded || req.socket.remoteAddress || 'unknown';
}

async function writeResponse(response: Response, res: ServerResponse) {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
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
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go);
            res.off('close', go);
            resolve();
          };
          res.on('drain', go);
          res.on('close', go);
        });
      }
    }
  } catch {
    // The client went away (cancelled reader) or the stream failed: end what was sent.
  }
  if (corked) uncork();
  if (!res.writableEnded) res.end();
}
