import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './root.ts';
import type { Services } from './services.ts';
import { resolveOwner } from './trpc.ts';

export const TRPC_ENDPOINT = '/api/trpc';

/** The fetch handler mounted at /api/trpc (by the Next.js route handler, through globalThis). */
export function createTrpcHandler(services: Services) {
  return (request: Request) =>
    fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req: request,
      router: appRouter,
      createContext: () => ({ services, ownerId: resolveOwner(request.headers) }),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') services.log.error({ path, err: error.cause ?? error }, 'procedure failed');
      },
    });
}
