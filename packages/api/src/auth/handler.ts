import { AppError } from '../errors.ts';
import type { Services } from '../services.ts';

export const AUTH_ENDPOINT = '/api/auth/';
const GUEST_SIGN_IN = '/api/auth/sign-in/anonymous';

/**
 * better-auth's handler at /api/auth/*, with the per-address limit on new
 * guests (GUESTS_PER_IP_PER_HOUR, shared by every instance) in front of it.
 */
export function createAuthHandler(services: Services) {
  return async (request: Request, clientAddress: string): Promise<Response> => {
    if (request.method === 'POST' && new URL(request.url).pathname === GUEST_SIGN_IN && services.config.AUTH_GUESTS === 'on') {
      try {
        await services.limits.guests.consume(clientAddress);
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
