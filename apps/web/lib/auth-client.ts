/**
 * The browser's side of better-auth's HTTP routes (/api/auth/*), with plain
 * same-origin fetch: the session is an httpOnly cookie the browser keeps and
 * sends by itself, and a same-origin POST carries the Origin header the
 * server's cross-site check wants. Nothing here reads or writes the cookie.
 */

export const AUTH_URL = '/api/auth';

/** Pages a signed-out browser may see: no guest is made for them. */
export const AUTH_PAGES = ['/sign-in', '/sign-up'];
export const isAuthPage = (pathname: string | null) => AUTH_PAGES.includes(pathname ?? '');

/** A path of this app to go to after signing in (`?next=`), never another site. */
export function safeNext(value: string | null | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  if (isAuthPage(value.split(/[?#]/)[0]!)) return '/';
  return value;
}

export interface SessionUser {
  id: string;
  name: string;
  email: string;
  /** A guest: its own anonymous account, made on first visit. */
  isAnonymous: boolean;
}

/** A failed auth request: the HTTP status and better-auth's error code, if any. */
export class AuthError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

async function request(path: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${AUTH_URL}${path}`, {
      credentials: 'same-origin',
      cache: 'no-store',
      ...init,
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
  } catch {
    throw new AuthError(undefined, undefined, 'network');
  }
  const body = await readJson(response);
  if (!response.ok) {
    const b = body as { code?: unknown; message?: unknown } | null;
    const code = typeof b?.code === 'string' ? b.code : undefined;
    const message = typeof b?.message === 'string' ? b.message : '';
    throw new AuthError(response.status, code, message);
  }
  return body;
}

function toUser(value: unknown): SessionUser | null {
  const user = (value as { user?: Record<string, unknown> } | null)?.user;
  if (!user || typeof user.id !== 'string') return null;
  return {
    id: user.id,
    name: typeof user.name === 'string' ? user.name : '',
    email: typeof user.email === 'string' ? user.email : '',
    isAnonymous: user.isAnonymous === true,
  };
}

/** The signed-in user of this browser, or null (no session, or an expired one). */
export async function fetchSession(): Promise<SessionUser | null> {
  return toUser(await request('/get-session'));
}

/**
 * Makes this browser a guest. 'disabled' when the deployment has guests off
 * (the route answers 404); 'exists' when the browser already is one (another
 * tab got there first).
 */
export async function signInAnonymous(): Promise<'created' | 'disabled' | 'exists'> {
  try {
    await request('/sign-in/anonymous', { method: 'POST', body: '{}' });
    return 'created';
  } catch (error) {
    if (error instanceof AuthError && error.status === 404) return 'disabled';
    if (error instanceof AuthError && error.code === 'ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY') return 'exists';
    throw error;
  }
}

export async function signUpEmail(input: { name: string; email: string; password: string }): Promise<SessionUser | null> {
  return toUser(await request('/sign-up/email', { method: 'POST', body: JSON.stringify(input) }));
}

export async function signInEmail(input: { email: string; password: string }): Promise<SessionUser | null> {
  return toUser(await request('/sign-in/email', { method: 'POST', body: JSON.stringify(input) }));
}

export async function signOut(): Promise<void> {
  await request('/sign-out', { method: 'POST', body: '{}' });
}

/** better-auth's codes in plain sentences. */
const SENTENCES: Record<string, string> = {
  INVALID_EMAIL_OR_PASSWORD: 'That email and password do not match an account.',
  INVALID_EMAIL: 'Please enter a valid email address.',
  INVALID_PASSWORD: 'Please enter your password.',
  PASSWORD_TOO_SHORT: 'That password is too short. Use at least 8 characters.',
  PASSWORD_TOO_LONG: 'That password is too long.',
  USER_ALREADY_EXISTS: 'An account with this email already exists. Sign in instead, or use another email.',
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: 'An account with this email already exists. Sign in instead, or use another email.',
  FAILED_TO_CREATE_USER: 'The account could not be created. Please try again.',
  FAILED_TO_CREATE_SESSION: 'You could not be signed in. Please try again.',
  EMAIL_NOT_VERIFIED: 'Please verify your email address first.',
  INVALID_ORIGIN: 'This page is not allowed to sign you in. Open the app from its own address.',
  MISSING_OR_NULL_ORIGIN: 'This page is not allowed to sign you in. Open the app from its own address.',
  CROSS_SITE_NAVIGATION_LOGIN_BLOCKED: 'This page is not allowed to sign you in. Open the app from its own address.',
  VALIDATION_ERROR: 'Please check the fields and try again.',
  MISSING_FIELD: 'Please fill in every field.',
};

/** What the UI says about a failed auth request: always a sentence, never a body. */
export function authErrorMessage(error: unknown): string {
  if (!(error instanceof AuthError)) return 'Something went wrong. Please try again.';
  if (error.status === undefined) return 'The server could not be reached. Check your connection and try again.';
  if (error.code && SENTENCES[error.code]) return SENTENCES[error.code]!;
  if (error.status === 429) return 'Too many attempts. Please wait a minute and try again.';
  if (error.status === 413) return 'That is too long.';
  if (error.status === 404) return 'This is not available on this server.';
  if (error.status === 401) return 'That email and password do not match an account.';
  if (error.status === 403) return 'This request was refused. Reload the page and try again.';
  if (error.status >= 500) return 'The server could not complete this right now. Please try again in a moment.';
  return 'That did not work. Please check the fields and try again.';
}
