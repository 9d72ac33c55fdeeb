import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { errorOf, startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';

/**
 * The limits of DESIGN §13 over real HTTP: over each one its typed error and
 * nothing written, under it everything works; the counted ones hold across
 * two instances on one database.
 */
const LIMITS = {
  RATE_LIMIT_ACTIONS_PER_MIN: '6',
  MAX_RUNS_PER_USER: '2',
  MAX_MESSAGE_CHARS: '10000',
  MAX_BODY_BYTES: '65536',
  MAX_BATCH_CALLS: '3',
  LOCAL_MODEL_TOKEN_DELAY_MS: '10',
};

let databaseUrl: string;
let one: TestServer;
let two: TestServer;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  [one, two] = await Promise.all([
    startServer({ databaseUrl, env: { ...LIMITS, INSTANCE_ID: 'limits-1' } }),
    startServer({ databaseUrl, env: { ...LIMITS, INSTANCE_ID: 'limits-2' } }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
});

const count = async (table: string) => (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "${table}"`))[0]!.n;

describe('limits', () => {
  it('sends per user per minute are counted across instances: over the budget RATE_LIMITED with Retry-After, nothing stored', async () => {
    const a = one.client('rate-a');
    const b = two.client('rate-a'); // the same user on the other instance
    const { context } = await a.context.create.mutate({});
    for (let i = 0; i < 6; i++) await (i % 2 ? b : a).chat.sendMessage.mutate({ contextId: context.id, content: `hello ${i}` });
    const messages = await count('Message');
    const limited = await errorOf(b.chat.sendMessage.mutate({ contextId: context.id, content: 'one too many' }));
    expect(limited).toMatchObject({ code: 'TOO_MANY_REQUESTS', appCode: 'RATE_LIMITED' });
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    // Over plain HTTP: the Retry-After header.
    const response = await fetch(`${one.url}/api/trpc/chat.sendMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await one.token('rate-a')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { contextId: context.id, content: 'still too many' } }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user is not limited by it.
    const other = one.client('rate-b');
    const { context: theirs } = await other.context.create.mutate({});
    await other.chat.sendMessage.mutate({ contextId: theirs.id, content: 'mine' });
    await waitIdle(a, context.id);
    expect(await count('Message')).toBeGreaterThanOrEqual(messages);
    const users = await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Message" WHERE "contextId" = $1 AND role = 'user'`, [context.id]);
    expect(users[0]!.n).toBe(6);
  });

  it("a user's runs beyond MAX_RUNS_PER_USER wait, across instances; another user's run starts at once", async () => {
    const a1 = one.client('busy-a');
    const a2 = two.client('busy-a');
    const contexts = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a2 : a1).context.create.mutate({})));
    await Promise.all(contexts.map(({ context }, i) => (i % 2 ? a2 : a1).chat.sendMessage.mutate({ contextId: context.id, content: '/long 150' })));
    const ids = contexts.map((c) => c.context.id);
    const processing = async () =>
      (
        await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Run" WHERE "contextId" = ANY($1) AND status = 'processing' AND "leaseOwner" IS NOT NULL`, [ids])
      )[0]!.n;
    await waitFor(async () => (await processing()) === 2, { what: "two of A's runs processing" });
    // B's run starts while A's wait.
    const b = one.client('busy-b');
    const { context: theirs } = await b.context.create.mutate({});
    const sent = await b.chat.sendMessage.mutate({ contextId: theirs.id, content: 'quick' });
    let peak = 0;
    await waitFor(
      async () => {
        peak = Math.max(peak, await processing());
        const [run] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Run" WHERE id = $1`, [sent.run.id]);
        return run?.status === 'completed';
      },
      { what: "B's run to complete", intervalMs: 20 },
    );
    const pending = (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Run" WHERE "contextId" = ANY($1) AND status = 'pending'`, [ids]))[0]!.n;
    expect(pending).toBeGreaterThan(0); // A's were still waiting when B's was done
    // All of A's finish, never more than two at a time.
    await waitFor(
      async () => {
        peak = Math.max(peak, await processing());
        const done = await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Run" WHERE "contextId" = ANY($1) AND status = 'completed'`, [ids]);
        return done[0]!.n === 6;
      },
      { what: "all of A's runs", intervalMs: 20, timeoutMs: 60_000 },
    );
    expect(peak).toBeLessThanOrEqual(2);
  }, 90_000);

  it('message length: 10,000 characters pass, one more is MESSAGE_TOO_LONG and stores nothing', async () => {
    const client = one.client('length');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'x'.repeat(10_000) });
    await waitIdle(client, context.id); // its reply is written too before counting
    const before = await count('Message');
    expect(await errorOf(client.chat.sendMessage.mutate({ contextId: context.id, content: 'y'.repeat(10_001) }))).toMatchObject({
      code: 'BAD_REQUEST',
      appCode: 'MESSAGE_TOO_LONG',
    });
    expect(await count('Message')).toBe(before);
  });

  it('a body over MAX_BODY_BYTES is PAYLOAD_TOO_LARGE at once, on tRPC and auth routes alike', async () => {
    const token = await one.token('body');
    for (const path of ['/api/trpc/context.create', '/api/auth/sign-up/email']) {
      const started = Date.now();
      const response = await fetch(`${one.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ json: { title: 'z'.repeat(70_000) } }),
      });
      expect(response.status).toBe(413);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('a batch over MAX_BATCH_CALLS is refused with a 4xx and runs none of its calls', async () => {
    const token = await one.token('batch');
    const before = await count('Context');
    const calls = ['context.create', 'context.create', 'context.create', 'context.create'];
    const input = Object.fromEntries(calls.map((_, i) => [i, { json: {} }]));
    const response = await fetch(`${one.url}/api/trpc/${calls.join(',')}?batch=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await count('Context')).toBe(before);
    // Within the limit: fine.
    const ok = await fetch(`${one.url}/api/trpc/${calls.slice(0, 3).join(',')}?batch=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(Object.fromEntries(calls.slice(0, 3).map((_, i) => [i, { json: {} }]))),
    });
    expect(ok.status).toBe(200);
    expect(await count('Context')).toBe(before + 3);
  });
});

describe('guests per address', () => {
  it('GUESTS_PER_IP_PER_HOUR new guests and AUTH_ATTEMPTS_PER_IP_PER_MIN sign-ins from one address, then 429 with Retry-After (shared by instances)', async () => {
    const db = await createTestDatabase();
    const [a, b] = await Promise.all([
      startServer({ databaseUrl: db, env: { GUESTS_PER_IP_PER_HOUR: '2', AUTH_ATTEMPTS_PER_IP_PER_MIN: '3' } }),
      startServer({ databaseUrl: db, env: { GUESTS_PER_IP_PER_HOUR: '2', AUTH_ATTEMPTS_PER_IP_PER_MIN: '3' } }),
    ]);
    try {
      const signIn = (s: TestServer) =>
        fetch(`${s.url}/api/auth/sign-in/anonymous`, { method: 'POST', headers: { origin: s.url, 'content-type': 'application/json' }, body: '{}' });
      expect((await signIn(a)).status).toBe(200);
      expect((await signIn(b)).status).toBe(200);
      const third = await signIn(a);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await third.json()).toMatchObject({ code: 'RATE_LIMITED' });
      const users = await sql<{ n: number }>(db, `SELECT count(*)::int AS n FROM auth_user`);
      expect(users[0]!.n).toBe(2);
      // Password guessing: AUTH_ATTEMPTS_PER_IP_PER_MIN sign-ins (right or wrong) per address, across instances.
      const attempt = (s: TestServer) =>
        fetch(`${s.url}/api/auth/sign-in/email`, {
          method: 'POST',
          headers: { origin: s.url, 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password' }),
        });
      expect((await attempt(a)).status).toBe(401);
      expect((await attempt(b)).status).toBe(401);
      expect((await attempt(a)).status).toBe(401);
      const limited = await attempt(b);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);
});
