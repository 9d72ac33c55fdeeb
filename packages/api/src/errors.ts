import { isDomainError, type DomainErrorKind } from '@chat/core';
import { isDatabaseUnavailable } from '@chat/db';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The one mapping from domain and infrastructure errors to transport errors (DESIGN §9). */
const CODES: Record<DomainErrorKind, TRPC_ERROR_CODE_KEY> = {
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  invalid: 'BAD_REQUEST',
  unprocessable: 'UNPROCESSABLE_CONTENT',
  too_many_requests: 'TOO_MANY_REQUESTS',
};

/** How long a client should wait before retrying a SERVICE_BUSY answer. */
export const SERVICE_BUSY_RETRY_MS = 1000;

export class AppError extends TRPCError {
  constructor(
    code: TRPC_ERROR_CODE_KEY,
    readonly appCode: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super({ code, message });
  }
}

/**
 * The server cannot take the request right now (database away, pool or
 * admission limit full). Retriable with the same idempotency key: nothing was
 * written. HTTP 503 with Retry-After.
 */
export function serviceBusy(retryAfterMs = SERVICE_BUSY_RETRY_MS, reason = 'the server is busy'): AppError {
  return new AppError('SERVICE_UNAVAILABLE', 'SERVICE_BUSY', `${reason}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
    retryAfterMs,
  });
}

/** A unique constraint refused a write (PostgreSQL 23505, or Prisma's P2002 for it): the one test of it. */
export const isUniqueViolation = (error: unknown) =>
  typeof error === 'object' && error !== null && ['P2002', '23505'].includes(String((error as { code?: unknown }).code));

export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError && !(error.code === 'INTERNAL_SERVER_ERROR' && error.cause)) return error;
  const cause = error instanceof TRPCError ? error.cause : error;
  if (cause instanceof AppError) return cause;
  if (isDomainError(cause)) return new AppError(CODES[cause.kind], cause.appCode, cause.message, cause.details);
  if (isDatabaseUnavailable(cause)) return serviceBusy(SERVICE_BUSY_RETRY_MS, 'the database is not available');
  // A unique constraint that the checks before it could not see (a race they lost): the client may retry.
  if (isUniqueViolation(cause)) {
    return new AppError('CONFLICT', 'UNIQUE_VIOLATION', 'a conflicting write happened at the same time; retry');
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error', cause });
}

/** The retry delay of a SERVICE_BUSY / RATE_LIMITED error, for the Retry-After header. */
export function retryAfterMsOf(error: unknown): number | undefined {
  const app = error instanceof AppError ? error : error instanceof TRPCError && error.cause instanceof AppError ? error.cause : null;
  const ms = app?.details?.retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}

export function appCodeOf(error: unknown): string | undefined {
  if (error instanceof AppError) return error.appCode;
  if (error instanceof TRPCError && error.cause instanceof AppError) return error.cause.appCode;
  return undefined;
}
