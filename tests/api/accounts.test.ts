import { createChatClient } from '@chat/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { cookieOf, guestSession, signUp, tokenFor } from '../support/identity.ts';
import { sql } from '../support/sql.ts';
import { errorOf, startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { verifyReplay } from '../support/verify-replay.ts';

let databaseUrl: string;
let server: TestServer;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
});
afterAll(async () => {
  await server?.stop();
});

const withToken = (token: string) => createChatClient({ url: server.url, token, batch: false, retry: false });
const withCookie = (cookie: string) => createChatClient({ url: server.url, headers: { cookie, origin: server.url }, batch: false, retry: false });

describe('accounts and API tokens', () => {
  it('a token is shown once, stored hashed, lists without its secret, records its use, and stops working when revoked', async () => {
    const cookie = await signUp(server.url, `tokens-${Date.now()}@example.com`);
    const session = withCookie(cookie);
    const { id, token, apiToken } = await session.apiToken.create.mutate({ name: 'ci' });
    expect(id).toBe(apiToken.id);
    expect(token).toMatch(/^chat_[A-Za-z0-9_-]{43}$/);
    const [row] = await sql<{ hash: string }>(databaseUrl, `SELECT hash FROM "ApiToken" WHERE id = $1`, [apiToken.id]);
    expect(row!.hash).not.toContain(token);
    expect(JSON.stringify(await sql(databaseUrl, `SELECT * FROM "ApiToken" WHERE id = $1`, [apiToken.id]))).not.toContain(token.slice(5));

    const client = withToken(token);
    const { context } = await client.context.create.mutate({ title: 'by token' });
    // The session and the token are the same user.
    expect((await session.context.get.query({ contextId: context.id })).context.title).toBe('by token');
    await waitFor(async () => (await session.apiToken.list.query()).find((t) => t.id === apiToken.id)?.lastUsedAt, { what: 'lastUsedAt' });
    const listed = await session.apiToken.list.query();
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(listed.map((t) => t.name)).toContain('ci');

    await session.apiToken.revoke.mutate({ id: apiToken.id });
    expect(await errorOf(client.context.list.query({}))).toMatchObject({ code: 'UNAUTHORIZED', appCode: 'INVALID_TOKEN' });
    expect((await session.apiToken.list.query()).some((t) => t.id === apiToken.id)).toBe(false);
  });

  it("someone else's token cannot be revoked (NOT_FOUND) and keeps working", async () => {
    const mine = await guestSession(server.url);
    const theirs = await guestSession(server.url);
    const theirToken = await tokenFor(server.url, theirs, 'theirs');
    const id = (await sql<{ id: string }>(databaseUrl, `SELECT id FROM "ApiToken" ORDER BY "createdAt" DESC LIMIT 1`))[0]!.id;
    expect(await errorOf(withCookie(mine).apiToken.revoke.mutate({ id }))).toMatchObject({ code: 'NOT_FOUND' });
    await withToken(theirToken).context.list.query({});
  });

  it('a guest who signs up keeps its chats and tokens; the guest session ends; signing in elsewhere shows them', async () => {
    const guest = await guestSession(server.url);
    const asGuest = withCookie(guest);
    const { context } = await asGuest.context.create.mutate({ title: 'made as a guest' });
    const token = await tokenFor(server.url, guest, 'guest token');
    const email = `keeper-${Date.now()}@example.com`;
    const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { cookie: guest, origin: server.url, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery', name: 'Keeper' }),
    });
    expect(response.status).toBe(200);
    const account = withCookie(cookieOf(response));
    expect((await account.context.get.query({ contextId: context.id })).context.title).toBe('made as a guest');
    // The moved chat is the account's for writing too (no stale owner anywhere), and the move is in its log.
    await account.chat.sendMessage.mutate({ contextId: context.id, content: 'now as an account' });
    await waitIdle(account, context.id);
    const replay = await verifyReplay(databaseUrl);
    expect(replay.code, replay.output).toBe(0);
    await withToken(token).context.get.query({ contextId: context.id });
    expect(await errorOf(asGuest.context.list.query({}))).toMatchObject({ code: 'UNAUTHORIZED' });

    const signIn = await fetch(`${server.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { origin: server.url, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery' }),
    });
    expect(signIn.status).toBe(200);
    const elsewhere = await withCookie(cookieOf(signIn)).context.list.query({});
    expect(elsewhere.items.map((c) => c.id)).toContain(context.id);
  });

  it('a sign-up with a name too long or not storable is a 400 and creates no account', async () => {
    const users = async () => (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM auth_user`))[0]!.n;
    const before = await users();
    for (const name of ['n'.repeat(201), 'nul\u0000name', 'lone\ud800']) {
      const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { origin: server.url, 'content-type': 'application/json' },
        body: JSON.stringify({ email: `name-${Math.random()}@example.com`, password: 'correct horse battery', name }),
      });
      expect(response.status).toBe(400);
    }
    expect(await users()).toBe(before);
  });

  it('session cookies are httpOnly and SameSite=Lax; a cookie mutation from another origin is refused and writes nothing', async () => {
    const response = await fetch(`${server.url}/api/auth/sign-in/anonymous`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const setCookie = response.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/session_token=[^;]+;.*HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    const cookie = cookieOf(response);
    const before = (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Context"`))[0]!.n;
    for (const origin of ['https://evil.example', null]) {
      const attempt = await fetch(`${server.url}/api/trpc/context.create`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ json: { title: 'forged' } }),
      });
      expect(attempt.status).toBe(403);
      expect(JSON.stringify(await attempt.json())).toContain('CROSS_SITE_REQUEST');
    }
    expect((await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Context"`))[0]!.n).toBe(before);
  });
});
