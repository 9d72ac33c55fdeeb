import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { ZodError, z } from 'zod';
import { AppError, toTRPCError } from './errors.ts';
import type { Services } from './services.ts';

/**
 * The one place where tRPC is initialised.
 *
 * Context: the services and the caller's owner id. Owners are resolved from the
 * `x-owner-id` header (or the `chat_owner` cookie the web app sets); a context
 * owned by someone else is NOT_FOUND, never FORBIDDEN, so ids do not leak.
 */
export interface TRPCContext {
  services: Services;
  ownerId: string;
}

const OWNER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const DEFAULT_OWNER = 'default';

export function resolveOwner(headers: Headers): string {
  const cookie = headers.get('cookie')?.match(/(?:^|;\s*)chat_owner=([^;]+)/)?.[1];
  const owner = headers.get('x-owner-id') ?? (cookie ? decodeURIComponent(cookie) : null) ?? DEFAULT_OWNER;
  if (!OWNER_ID.test(owner)) {
    throw new AppError('UNAUTHORIZED', 'INVALID_OWNER', 'x-owner-id must be 1-128 characters of [A-Za-z0-9_.:@-]');
  }
  return owner;
}

/**
 * Errors: `data.appCode` is the stable machine-readable code; zod failures are
 * BAD_REQUEST with `appCode: 'INVALID_INPUT'` and the flattened issues.
 */
const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  sse: {
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    const app = error instanceof AppError ? error : error.cause instanceof AppError ? error.cause : null;
    return {
      ...shape,
      data: {
        ...shape.data,
        stack: undefined,
        appCode: app?.appCode ?? (zod ? 'INVALID_INPUT' : error.code),
        details: app?.details,
        zodError: zod ? z.flattenError(zod) : undefined,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Domain errors become typed TRPCErrors here, once, for every procedure; a
 * database that cannot serve us becomes SERVICE_BUSY (retriable), never a 500
 * quoting SQL or host names.
 */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && !(result.error instanceof AppError)) {
    const mapped = toTRPCError(result.error);
    if (mapped !== result.error) throw mapped;
  }
  return result;
});

/** Mutations pass a bounded admission (MAX_INFLIGHT_ACTIONS): beyond it they wait, then SERVICE_BUSY. */
const admitActions = t.middleware(({ ctx, type, next }) => (type === 'mutation' ? ctx.services.admission.actions.run(() => next()) : next()));

export const publicProcedure = t.procedure.use(mapDomainErrors).use(admitActions);
