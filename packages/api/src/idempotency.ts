import { DomainError, isConcurrencyError, type IdempotencyWrite } from '@chat/core';
import { createHash } from 'node:crypto';
import superjson from 'superjson';
import type { IdempotencyStore } from '@chat/db';
import { isUniqueViolation } from './errors.ts';

/**
 * Idempotency keys (DESIGN §6), the rule in one place. The record is written
 * by the same transaction as the action (repository.save), so there is no
 * visible "in progress" state: a duplicate racing the first loses the version
 * race, retries, finds the committed record and replays it. The check runs
 * again on every retry for exactly that reason.
 */
export interface IdempotencyScope {
  ownerId: string;
  procedure: string;
  key: string | undefined;
  /** The request as the client sent it, without the key. */
  request: unknown;
}

export type Replayable<T> = T & { replayed: boolean };

export function requestHash(procedure: string, request: unknown): string {
  return createHash('sha256').update(procedure).update('\n').update(stableJson(request)).digest('hex');
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export async function idempotent<T extends object>(
  store: IdempotencyStore,
  scope: IdempotencyScope,
  ttlMs: number,
  now: () => Date,
  /** Runs the action once; `record(response)` gives the write to save with it. */
  action: (record: ((response: T) => IdempotencyWrite) | undefined) => Promise<T>,
  maxAttempts = 30,
): Promise<Replayable<T>> {
  const hash = requestHash(scope.procedure, scope.request);
  for (let attempt = 1; ; attempt++) {
    if (scope.key) {
      const existing = await store.find(scope.ownerId, scope.procedure, scope.key);
      if (existing && existing.expiresAt > now()) {
        if (existing.requestHash !== hash) {
          throw new DomainError(
            'unprocessable',
            'IDEMPOTENCY_KEY_REUSED',
            'this idempotency key was already used for a different request',
          );
        }
        if (existing.status !== 'completed') {
          throw new DomainError('conflict', 'IDEMPOTENCY_KEY_IN_PROGRESS', 'a request with this key is in progress');
        }
        return { ...(superjson.deserialize(existing.response as never) as T), replayed: true };
      }
      if (existing) await store.delete(scope.ownerId, scope.procedure, scope.key);
    }
    const key = scope.key;
    const record = key
      ? (response: T): IdempotencyWrite => ({
          ownerId: scope.ownerId,
          procedure: scope.procedure,
          key,
          requestHash: hash,
          response: superjson.serialize(response),
          expiresAt: new Date(now().getTime() + ttlMs),
        })
      : undefined;
    try {
      // An action may itself answer from what is stored (e.g. a resent clientMessageId): it says replayed.
      return { replayed: false, ...(await action(record)) };
    } catch (error) {
      const retriable = isConcurrencyError(error) || (key !== undefined && isUniqueViolation(error));
      if (!retriable || attempt >= maxAttempts) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 4 * Math.min(attempt, 10)));
    }
  }
}
