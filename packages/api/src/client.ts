import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCLink,
} from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from './root.ts';

/**
 * The typed client for other TypeScript apps. In Node 20 pass an
 * EventSource implementation (the `eventsource` package) for subscriptions.
 */
export function createChatClient(opts: {
  url: string;
  ownerId?: string;
  headers?: Record<string, string>;
  EventSource?: typeof globalThis.EventSource;
  /** false: one HTTP request per call instead of batching calls made together. */
  batch?: boolean;
}) {
  const headers = { ...(opts.ownerId ? { 'x-owner-id': opts.ownerId } : {}), ...opts.headers };
  const url = opts.url.replace(/\/$/, '').endsWith('/api/trpc') ? opts.url : `${opts.url.replace(/\/$/, '')}/api/trpc`;
  const links: TRPCLink<AppRouter>[] = [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url,
        transformer: superjson,
        ...(opts.EventSource ? { EventSource: opts.EventSource } : {}),
        eventSourceOptions: () => ({ fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) }) as never,
      }),
      false:
        opts.batch === false
          ? httpLink({ url, transformer: superjson, headers })
          : httpBatchLink({ url, transformer: superjson, headers }),
    }),
  ];
  return createTRPCClient<AppRouter>({ links });
}

export type ChatClient = ReturnType<typeof createChatClient>;
export type { AppRouter };
