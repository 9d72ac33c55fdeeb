import { z } from 'zod';

/** Shared input pieces: ids and keys are bounded strings; nothing unbounded reaches the database. */
export const id = z.string().min(1).max(100);
export const idempotencyKey = z.string().min(1).max(255).optional();
export const contextRef = z.object({ contextId: id });
export const model = z.string().min(1).max(200).regex(/^[a-z-]+:.+$/, 'must look like provider:model');
export const MAX_MESSAGE_CHARS = 100_000;
