import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { reportIfUnauthenticated } from './auth-events';

/**
 * One QueryClient per browser tab. The server pushes changes, so queries need
 * no polling. An UNAUTHENTICATED answer anywhere tells the auth gate.
 */
export function makeQueryClient() {
  return new QueryClient({
    queryCache: new QueryCache({ onError: reportIfUnauthenticated }),
    mutationCache: new MutationCache({ onError: reportIfUnauthenticated }),
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
