import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './root.ts';
import { retryAfterMsOf } from './errors.ts';
import type { Services } from './services.ts';

export const TRPC_ENDPOINT = '/api/trpc';

/** The fetch handler mounted at /api/trpc (by the Next.js route handler, through globalThis). */
export function createTrpcHandler(services: Services) {
  return (request: Request) =>
    fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req: request,
      router: appRouter,
      createContext: () => ({ services, headers: request.headers, url: request.url }),
      maxBatchSize: services.config.MAX_BATCH_CALLS,
      // Retry-After for SERVICE_BUSY and RATE_LIMITED answers (the longest delay of a batch).
      responseMeta({ errors }) {
        const delays = errors.map(retryAfterMsOf).filter((ms): ms is number => ms !== undefined);
        return delays.length ? { headers: new Headers({ 'retry-after': String(Math.ceil(Math.max(...delays) / 1000)) }) } : {};
      },
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') services.log.error({ path, err: error.cause ?? error }, 'procedure failed');
      },
    });
}
