/** Reads what the UI shows from a tRPC client error (message, app code, details). */
export interface ErrorInfo {
  message: string;
  code: string | undefined;
  appCode: string | undefined;
  httpStatus: number | undefined;
  details: Record<string, unknown> | undefined;
}

export function errorInfo(error: unknown): ErrorInfo {
  const e = error as {
    message?: string;
    data?: { code?: string; appCode?: string; httpStatus?: number; details?: Record<string, unknown> } | null;
  } | null;
  return {
    message: e?.message || 'Something went wrong',
    code: e?.data?.code,
    appCode: e?.data?.appCode,
    httpStatus: e?.data?.httpStatus,
    details: e?.data?.details ?? undefined,
  };
}

/** Network failures (no response at all) are safe to retry with the same idempotency key. */
export function isNetworkError(error: unknown): boolean {
  const info = errorInfo(error);
  return info.httpStatus === undefined && info.code === undefined;
}
