import { initTRPC } from '@trpc/server';
import { ZodError, z } from 'zod';
import { assertSameOrigin, resolveIdentity, type Identity } from './auth/identity.ts';
import { AppError, toTRPCError } from './errors.ts';
import type { Services } from './services.ts';
import { transformer } from './transformer.ts';

/**
 * The one place where tRPC is initialised.
 *
 * Context: the services and the request's headers. The caller's identity is
 * resolved once, by `protectedProcedure`, from the session cookie or the API
 * token (auth/identity.ts); a context owned by someone else is NOT_FOUND,
 * never FORBIDDEN, so ids do not leak.
 */
export interface TRPCContext {
  services: Services;
  headers: Headers;
  /** The request's URL (its host is the app's own origin for the same-origin check). */
  url: string;
}

/** The context of a protected procedure: who is calling. */
export interface AuthedContext extends TRPCContext {
  ownerId: string;
  identity: Identity;
}

/**
 * Errors: `data.appCode` is the stable machine-readable code; zod failures are
 * BAD_REQUEST with `appCode: 'INVALID_INPUT'` and the flattened issues.
 */
const t = initTRPC.context<TRPCContext>().create({
  transformer,
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

/**
 * Every input travels as JSON (superjson). tRPC would hand a multipart or
 * octet-stream body to the input parser as a FormData or a stream, which an
 * object schema whose fields are all optional accepts as `{}` (a
 * `context.create` from any such body): refused before anything runs.
 */
const NON_JSON_BODY = /^\s*(multipart\/form-data|application\/octet-stream)\b/i;
const jsonBodiesOnly = t.middleware(({ ctx, next }) => {
  if (NON_JSON_BODY.test(ctx.headers.get('content-type') ?? '')) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE', 'Send the input as JSON (content-type: application/json).');
  }
  return next();
});

/** Only `system.health` answers without an identity. */
export const publicProcedure = t.procedure.use(mapDomainErrors).use(jsonBodiesOnly).use(admitActions);

/**
 * Every other procedure: the user from the session or the token, and a
 * cookie-authenticated mutation only from the app's own origin.
 */
export const protectedProcedure = t.procedure.use(mapDomainErrors).use(jsonBodiesOnly).use(async ({ ctx, type, next }) => {
  const { services } = ctx;
  const identity = await resolveIdentity(services.auth, services.tokens, ctx.headers);
  if (identity.via === 'session' && type === 'mutation') assertSameOrigin(ctx.headers, ctx.url, services.trustedOrigins);
  return next({ ctx: { ownerId: identity.userId, identity } });
}).use(admitActions);

