import { QueryClient } from '@tanstack/react-query';

/** One QueryClient per browser tab. The server pushes changes, so queries need no polling. */
export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        retry: (failureCount, error) => failureCount < 2 && !isClientError(error),
      },
      mutations: { retry: false },
    },
  });
}

/** 4xx-like tRPC errors (NOT_FOUND, BAD_REQUEST, CONFLICT, ...) are not worth retrying. */
export function isClientError(error: unknown): boolean {
  const status = (error as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
  return typeof status === 'number' && status >= 400 && status < 500;
}
