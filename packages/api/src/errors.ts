import { isDomainError, type DomainErrorKind } from '@chat/core';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The one mapping from domain errors to transport errors (DESIGN §9). */
const CODES: Record<DomainErrorKind, TRPC_ERROR_CODE_KEY> = {
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  invalid: 'BAD_REQUEST',
  unprocessable: 'UNPROCESSABLE_CONTENT',
  too_many_requests: 'TOO_MANY_REQUESTS',
};

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

export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (isDomainError(error)) {
    const mapped = new AppError(CODES[error.kind], error.appCode, error.message, error.details);
    return mapped;
  }
  // A unique constraint that the checks before it could not see (a race they lost): the client may retry.
  if ((error as { code?: unknown } | null)?.code === 'P2002') {
    return new AppError('CONFLICT', 'UNIQUE_VIOLATION', 'a conflicting write happened at the same time; retry');
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error', cause: error });
}

export function appCodeOf(error: unknown): string | undefined {
  if (error instanceof AppError) return error.appCode;
  if (error instanceof TRPCError && error.cause instanceof AppError) return error.cause.appCode;
  return undefined;
}
