import { retryDelayMs as backoffMs } from '@chat/client';

/** Reads what the UI shows from a tRPC client error (message, app code, details). */
export interface ErrorInfo {
  message: string;
  code: string | undefined;
  appCode: string | undefined;
  httpStatus: number | undefined;
  details: Record<string, unknown> | undefined;
}

/** Failures whose server text is not meant for people: said in plain words instead. */
const PLAIN: Record<string, string> = {
  SERVICE_BUSY: 'The server is busy right now. Please try again in a moment.',
  UNAUTHENTICATED: 'You are signed out. Reload the page to go on.',
};

export function errorInfo(error: unknown): ErrorInfo {
  const e = error as {
    message?: string;
    data?: { code?: string; appCode?: string; httpStatus?: number; details?: Record<string, unknown> } | null;
  } | null;
  const appCode = e?.data?.appCode;
  const details = e?.data?.details ?? undefined;
  const httpStatus = e?.data?.httpStatus;
  return {
    message: plainWords(appCode, httpStatus, details) || (appCode && PLAIN[appCode]) || e?.message || 'Something went wrong',
    code: e?.data?.code,
    appCode,
    httpStatus,
    details,
  };
}

/**
 * The sentence for failures whose server text is not for people (a zod
 * error's JSON, a bare 413) or needs the details (when to retry).
 */
function plainWords(appCode: string | undefined, httpStatus: number | undefined, details: Record<string, unknown> | undefined): string | undefined {
  if (appCode === 'RATE_LIMITED') {
    const ms = typeof details?.retryAfterMs === 'number' ? details.retryAfterMs : undefined;
    return ms === undefined ? 'You are sending too fast. Please wait a moment.' : `You are sending too fast. Try again in ${Math.max(1, Math.ceil(ms / 1000))} s.`;
  }
  if (appCode === 'INVALID_INPUT') return 'This could not be sent: it is too long or has characters that cannot be stored.';
  if (httpStatus === 413 || appCode === 'PAYLOAD_TOO_LARGE') return 'This is too large to send.';
  return undefined;
}

/** The configured message limit, as a MESSAGE_TOO_LONG answer states it. */
export function messageLimitOf(error: unknown): number | undefined {
  const info = errorInfo(error);
  const max = info.details?.max;
  return info.appCode === 'MESSAGE_TOO_LONG' && typeof max === 'number' ? max : undefined;
}

/** Network failures (no response at all) are safe to retry with the same idempotency key. */
export function isNetworkError(error: unknown): boolean {
  const info = errorInfo(error);
  return info.httpStatus === undefined && info.code === undefined;
}

/** The server could not take the request (HTTP 503, nothing was written): retry with the same key. */
export function isServiceBusy(error: unknown): boolean {
  return errorInfo(error).appCode === 'SERVICE_BUSY';
}

/** Worth sending again with the same idempotency key: no answer, or SERVICE_BUSY. */
export function isRetriable(error: unknown): boolean {
  return isNetworkError(error) || isServiceBusy(error);
}

/**
 * Pause before retry number `attempt` (0-based, as React Query counts): the
 * typed client's backoff (the server's `retryAfterMs` when it gave one, else
 * exponential with jitter), at most 8 s.
 */
export function retryDelayMs(attempt: number, error?: unknown): number {
  const hint = errorInfo(error).details?.retryAfterMs;
  return backoffMs(attempt + 1, typeof hint === 'number' && hint >= 0 ? hint : undefined, 8_000);
}
