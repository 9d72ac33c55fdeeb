import { AppError } from '../errors.ts';
import type { Auth } from './auth.ts';
import type { ApiTokens } from './tokens.ts';

/** Who is calling: the user of a session cookie or of an API token (DESIGN §13). */
export interface Identity {
  userId: string;
  via: 'session' | 'token';
  guest: boolean;
}

export const unauthenticated = (message = 'Sign in, or send an API token as "Authorization: Bearer <token>".') =>
  new AppError('UNAUTHORIZED', 'UNAUTHENTICATED', message);

/**
 * The one identity rule: a Bearer token, else the session cookie; nothing the
 * caller names. A malformed, unknown or revoked token, or a cookie that is no
 * session (expired, signed out, forged) is UNAUTHORIZED, never a 500.
 */
export async function resolveIdentity(auth: Auth, tokens: ApiTokens, headers: Headers): Promise<Identity> {
  const authorization = headers.get('authorization');
  if (authorization !== null) {
    const token = /^Bearer +(\S+)\s*$/i.exec(authorization)?.[1];
    const userId = token ? await tokens.verify(token) : null;
    if (!userId) throw new AppError('UNAUTHORIZED', 'INVALID_TOKEN', 'The API token is not valid (malformed, unknown or revoked).');
    return { userId, via: 'token', guest: false };
  }
  if (!headers.get('cookie')?.includes('session_token=')) throw unauthenticated();
  let session: Awaited<ReturnType<Auth['api']['getSession']>>;
  try {
    session = await auth.api.getSession({ headers });
  } catch (error) {
    // A cookie better-auth cannot parse is the caller's problem; a database error is ours (SERVICE_BUSY upstream).
    if ((error as { status?: unknown })?.status !== undefined) throw unauthenticated('Your session is not valid: sign in again.');
    throw error;
  }
  if (!session) throw unauthenticated('Your session has ended: sign in again.');
  return { userId: session.user.id, via: 'session', guest: Boolean((session.user as { isAnonymous?: boolean | null }).isAnonymous) };
}

/**
 * Cookie-authenticated mutations must come from the app's own origin (or a
 * trusted one): a browser always sends Origin with them, a cross-site page
 * cannot forge it. Token-authenticated calls carry no ambient credential.
 */
export function assertSameOrigin(headers: Headers, requestUrl: string, trusted: readonly string[]) {
  const origin = headers.get('origin');
  if (origin) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {}
    if (host && (host === new URL(requestUrl).host || headers.get('host') === host || trusted.includes(origin))) return;
  } else if (headers.get('sec-fetch-site') === 'same-origin') {
    return;
  }
  throw new AppError('FORBIDDEN', 'CROSS_SITE_REQUEST', 'This request did not come from the app: send an API token instead of a cookie.');
}
