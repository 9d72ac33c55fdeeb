import type { PrismaClient } from '@chat/db';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError } from 'better-auth/api';
import { anonymous } from 'better-auth/plugins/anonymous';
import type { Config } from '../config.ts';

export const SESSION_COOKIE_PREFIX = 'chat';
const MAX_NAME_CHARS = 200;
/** NUL and lone surrogates: PostgreSQL refuses them; a name with one is the caller's mistake, not a 5xx. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Hosts the app answers on without AUTH_URL (the request's own origin is trusted for its cookies). */
const LOCAL_HOSTS = ['localhost:*', '127.0.0.1:*', '[::1]:*', 'localhost', '127.0.0.1'];

/**
 * Origins trusted to send cookie-authenticated requests besides the request's
 * own: AUTH_TRUSTED_ORIGINS and the public AUTH_URL. One list for
 * better-auth's routes and for the tRPC procedures (identity.ts).
 */
export function trustedOrigins(config: Config): string[] {
  const listed = config.AUTH_TRUSTED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  return [...listed, ...(config.AUTH_URL ? [new URL(config.AUTH_URL).origin] : [])];
}

/**
 * better-auth (DESIGN §13): email-and-password accounts, sessions in httpOnly
 * SameSite=Lax cookies, and guests (the anonymous plugin) unless AUTH_GUESTS=off.
 * A guest that signs up or signs in keeps its chats: they move to the account
 * (idempotent, so a retried sign-in finishes a move that failed halfway).
 * Its own rate limiter is off: ours holds across instances (limits.ts).
 */
export function createAuth(
  prisma: PrismaClient,
  config: Config,
  secret: string,
  log: (msg: string, data?: unknown) => void,
  /** Moves a guest's chats to the account it became (through the repository: versioned, with their events). */
  moveChats: (fromUserId: string, toUserId: string) => Promise<void>,
) {
  const trusted = trustedOrigins(config);
  return betterAuth({
    appName: 'persistent-chat',
    basePath: '/api/auth',
    baseURL: config.AUTH_URL ?? { allowedHosts: LOCAL_HOSTS, fallback: `http://localhost:${config.PORT}`, protocol: 'http' },
    secret,
    trustedOrigins: (request) => [...trusted, ...sameOrigin(request)],
    database: prismaAdapter(prisma, { provider: 'postgresql', transaction: true }),
    emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 256, autoSignIn: true },
    telemetry: { enabled: false },
    rateLimit: { enabled: false },
    databaseHooks: {
      user: {
        create: {
          before: async (user) => {
            if (typeof user.name !== 'string' || user.name.length > MAX_NAME_CHARS || UNSTORABLE.test(user.name)) {
              throw new APIError('BAD_REQUEST', { code: 'INVALID_NAME', message: `A name has 1 to ${MAX_NAME_CHARS} characters of text.` });
            }
          },
        },
      },
    },
    logger: { log: (level, message) => log(`auth: ${message}`, { level }) },
    advanced: {
      cookiePrefix: SESSION_COOKIE_PREFIX,
      useSecureCookies: config.AUTH_URL?.startsWith('https://') ?? false,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', path: '/' },
    },
    plugins:
      config.AUTH_GUESTS === 'on'
        ? [
            anonymous({
              emailDomainName: 'guest.invalid',
              onLinkAccount: async ({ anonymousUser, newUser }) => {
                const from = anonymousUser.user.id;
                const to = newUser.user.id;
                await moveChats(from, to);
                await prisma.apiToken.updateMany({ where: { userId: from }, data: { userId: to } });
              },
            }),
          ]
        : [],
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** The request's own origin, when it came to a host we answer on: a same-origin form or fetch. */
function sameOrigin(request: Request | undefined): string[] {
  const host = request?.headers.get('host');
  if (!request || !host) return [];
  return [`${new URL(request.url).protocol}//${host}`];
}
