import { z } from 'zod';

/**
 * Shared input pieces. Every string is bounded, free of NUL characters and
 * well-formed UTF-16 (no lone surrogates): PostgreSQL refuses both in text and
 * jsonb, and that must be a BAD_REQUEST, not a failed write. Every integer
 * fits the database's int.
 */
export const MAX_INT = 2_147_483_647;
/** The schema's bound; the configured limit (MAX_MESSAGE_CHARS) is checked below it, as MESSAGE_TOO_LONG. */
export const HARD_MAX_MESSAGE_CHARS = 1_000_000;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'must not contain lone surrogates (malformed UTF-16)');

export const id = text(100).pipe(z.string().min(1));
export const idempotencyKey = text(255).pipe(z.string().min(1)).optional();
export const contextRef = z.object({ contextId: id });
export const model = text(200).pipe(z.string().regex(/^[a-z-]+:.+$/, 'must look like provider:model'));
export const seq = z.number().int().min(0).max(MAX_INT);
