import { createChatClient } from '@chat/client';

/** The session cookie a response set, as a request's Cookie header. */
export const cookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

/** A new guest account: its session cookie (POST /api/auth/sign-in/anonymous, as a browser's first visit). */
export async function guestSession(url: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/sign-in/anonymous`, { method: 'POST', headers: { origin: url, 'content-type': 'application/json' }, body: '{}' });
  if (!response.ok) throw new Error(`guest sign-in failed: ${response.status} ${await response.text()}`);
  return cookieOf(response);
}

/** A new email-and-password account: its session cookie. */
export async function signUp(url: string, email: string, password = 'correct horse battery', name = email.split('@')[0]!): Promise<string> {
  const response = await fetch(`${url}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { origin: url, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, name }),
  });
  if (!response.ok) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  return cookieOf(response);
}

/** An API token of the account behind `cookie` (apiToken.create with the session). */
export async function tokenFor(url: string, cookie: string, name = 'tests'): Promise<string> {
  const client = createChatClient({ url, headers: { cookie, origin: url }, batch: false, retry: false });
  return (await client.apiToken.create.mutate({ name })).token;
}

const named = new Map<string, Promise<string>>();

/**
 * The API token of the test user called `name` on this database: created (a
 * guest account and a token) on first use, the same user for every server on
 * that database afterwards, so a test can name its users as before.
 */
export function namedToken(databaseUrl: string, url: string, name: string): Promise<string> {
  const key = `${databaseUrl}\n${name}`;
  let token = named.get(key);
  if (!token) {
    token = guestSession(url).then((cookie) => tokenFor(url, cookie, name));
    token.catch(() => named.delete(key));
    named.set(key, token);
  }
  return token;
}
