import type { AppRouter } from '@chat/api';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import superjson from 'superjson';

export const TRPC_URL = '/api/trpc';

/**
 * Browser tRPC client: subscriptions over Server-Sent Events (the browser's
 * EventSource, which reconnects and resumes with the last tracked event id),
 * everything else batched over HTTP. Both use superjson like the server.
 */
export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: TRPC_URL, transformer: superjson }),
        false: httpBatchLink({ url: TRPC_URL, transformer: superjson }),
      }),
    ],
  });
}
