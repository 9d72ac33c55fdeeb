import type { AppRouter } from '@chat/api';
import { wireTransformer } from '@chat/client';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';

export const TRPC_URL = '/api/trpc';

/**
 * Browser tRPC client: subscriptions over Server-Sent Events (the browser's
 * EventSource, which reconnects and resumes with the last tracked event id),
 * everything else batched over HTTP. Both speak superjson like the server (the
 * typed client's transformer, which decodes the answers in place).
 */
export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: TRPC_URL, transformer: wireTransformer }),
        false: httpBatchLink({ url: TRPC_URL, transformer: wireTransformer }),
      }),
    ],
  });
}
