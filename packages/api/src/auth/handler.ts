import { AppError } from '../errors.ts';
import type { Services } from '../services.ts';

export const AUTH_ENDPOINT = '/api/auth/';
const GUEST_SIGN_IN = '/api/auth/sign-in/anonymous';
const PASSWORD_ROUTES = new Set(['/api/auth/sign-in/email', '/api/auth/sign-up/email']);

/**
 * better-auth's handler at /api/auth/*, with per-address limits in front of
 * it, shared by every instance: new guests (GUESTS_PER_IP_PER_HOUR) and
 * password sign-ins and sign-ups (AUTH_ATTEMPTS_PER_IP_PER_MIN).
 */
export function createAuthHandler(services: Services) {
  return async (request: Request, clientAddress: string): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const limit =
      request.method !== 'POST'
        ? null
        : path === GUEST_SIGN_IN && services.config.AUTH_GUESTS === 'on'
          ? services.limits.guests
          : PASSWORD_ROUTES.has(path)
            ? services.limits.signIns
            : null;
    if (limit) {
      try {
        await limit.consume(clientAddress);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const retryAfterMs = Number(error.details?.retryAfterMs ?? 60_000);
        return Response.json(
          { code: error.appCode, message: error.message, retryAfterMs },
          { status: 429, headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } },
        );
      }
    }
    return services.auth.handler(request);
  };
}
