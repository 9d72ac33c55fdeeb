/**
 * Domain errors. Each carries a stable `appCode` (part of the API contract) and a
 * `kind` that the API layer maps to a transport code in one place
 * (packages/api/src/errors.ts). `isDomainError` checks a brand instead of
 * `instanceof`, because bundlers may load this module more than once.
 */
export type DomainErrorKind =
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'unprocessable'
  | 'too_many_requests';

const BRAND = Symbol.for('chat.domain-error');

export class DomainError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly kind: DomainErrorKind,
    readonly appCode: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

export const notFound = (what: string, id: string) =>
  new DomainError('not_found', `${what.toUpperCase()}_NOT_FOUND`, `${what} ${id} not found`, { id });

/**
 * The one ownership rule: a context of someone else is NOT_FOUND, exactly as
 * a missing one, so ids do not leak. Returns the context when `ownerId` owns it.
 */
export function ownedBy<T extends { ownerId: string }>(context: T | null | undefined, ownerId: string, contextId: string): T {
  if (!context || context.ownerId !== ownerId) throw notFound('context', contextId);
  return context;
}

/** A save lost the optimistic-concurrency race (`version = expected` matched no row). */
export class ConcurrencyError extends DomainError {
  constructor(contextId: string, expectedVersion: number) {
    super('conflict', 'VERSION_CONFLICT', `context ${contextId} changed (expected version ${expectedVersion})`, {
      contextId,
      expectedVersion,
    });
  }
}

export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: string,
    readonly input: string,
  ) {
    super('conflict', 'ILLEGAL_TRANSITION', `cannot apply ${input} in state ${from}`, { from, input });
  }
}

export function isConcurrencyError(error: unknown): boolean {
  return isDomainError(error) && error.appCode === 'VERSION_CONFLICT';
}

/** The worker no longer owns the run (recovered elsewhere, cancelled, or finished). */
export class LeaseLostError extends Error {
  constructor(runId: string) {
    super(`lease on run ${runId} lost`);
    this.name = 'LeaseLostError';
  }
}

/** The abort reason when the process stops gracefully: the run is handed back, not failed. */
export class ShutdownSignal extends Error {
  constructor() {
    super('server shutting down');
    this.name = 'ShutdownSignal';
  }
}
