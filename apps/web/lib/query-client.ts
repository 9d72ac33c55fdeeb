import { QueryClient } from '@tanstack/react-query';

/** One QueryClient per browser tab. The server pushes changes, so queries need no polling. */
export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        retry: (failureCount, error) => failureCount < 3 && (!isClientError(error) || isTransientNotFound(error)),
        retryDelay: (attempt) => Math.min(300 * 2 ** attempt, 3_000),
      },
      mutations: { retry: false },
    },
  });
}

/**
 * NOT_FOUND for something other than the context itself (e.g. RUN_NOT_FOUND
 * while a run finishes during the read) is a transient read race: retry it.
 */
export function isTransientNotFound(error: unknown): boolean {
  const data = (error as { data?: { code?: string; appCode?: string } } | null)?.data;
  return data?.code === 'NOT_FOUND' && data.appCode !== undefined && data.appCode !== 'CONTEXT_NOT_FOUND';
}

/** 4xx-like tRPC errors (NOT_FOUND, BAD_REQUEST, CONFLICT, ...) are not worth retrying. */
export function isClientError(error: unknown): boolean {
  const status = (error as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
  return typeof status === 'number' && status >= 400 && status < 500;
}
