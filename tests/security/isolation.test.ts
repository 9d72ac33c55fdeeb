/**
 * Tenant isolation over real HTTP (DESIGN §9, §13): every procedure of the
 * router and the `events.onContext` subscription, called on user A's context,
 * run, tool call, message, branch and API token by
 *   (a) no identity (also with `x-owner-id: A` / a `chat_owner=A` cookie),
 *   (b) another user's valid token,
 *   (c) A's own token, revoked,
 *   (d) another guest (session cookie, with the app's Origin),
 *   (e) malformed tokens and garbage session cookies:
 * a/c/e are UNAUTHORIZED (UNAUTHENTICATED or INVALID_TOKEN), b/d are
 * NOT_FOUND exactly as for an id that does not exist; a cookie-authenticated
 * mutation from a foreign Origin (or none) is FORBIDDEN / CROSS_SITE_REQUEST.
 * Afterwards A's rows, version and lastEventSeq are as before.
 *
 * The procedures are enumerated from the router itself (packages/api/src/root.ts):
 * a procedure the matrix does not cover fails the test.
 */
import { randomUUID } from 'node:crypto';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../packages/api/src/root.ts';
import { createTestDatabase } from '../support/database.ts';
import { guestSession, signUp, tokenFor } from '../support/identity.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type Client, type TestServer } from '../support/server.ts';
import { createChatClient } from '@chat/client';

type Kind = 'query' | 'mutation' | 'subscription';
const procedures = Object.fromEntries(
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: Kind } }>).map(([path, p]) => [path, p._def.type]),
) as Record<string, Kind>;

/** The ids an input may name: A's real ones, or ones that exist nowhere. */
interface Ids {
  contextId: string;
  runId: string;
  toolCallId: string;
  messageId: string;
  branchId: string;
  tokenId: string;
}

/**
 * Every procedure of the router, with an input aimed at the ids given, and
 * its scope: `target` procedures name a context (or a token) and must be
 * NOT_FOUND for anyone but its owner; `own` procedures act on the caller's
 * own account only; `public` is system.health.
 */
const MATRIX: Record<string, { scope: 'target' | 'own' | 'public'; input: (ids: Ids) => unknown }> = {
  'context.create': { scope: 'own', input: () => ({ title: 'not yours' }) },
  'context.list': { scope: 'own', input: () => ({ limit: 100 }) },
  'context.get': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'context.state': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'context.messages': { scope: 'target', input: (i) => ({ contextId: i.contextId, branchId: i.branchId }) },
  'context.update': { scope: 'target', input: (i) => ({ contextId: i.contextId, title: 'pwned', systemPrompt: 'pwned' }) },
  'context.delete': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'context.switchBranch': { scope: 'target', input: (i) => ({ contextId: i.contextId, branchId: i.branchId }) },
  'chat.sendMessage': { scope: 'target', input: (i) => ({ contextId: i.contextId, content: 'hello from outside', editOfMessageId: i.messageId }) },
  'chat.approveTools': {
    scope: 'target',
    input: (i) => ({ contextId: i.contextId, runId: i.runId, decisions: [{ toolCallId: i.toolCallId, approve: true }] }),
  },
  'chat.cancel': { scope: 'target', input: (i) => ({ contextId: i.contextId, runId: i.runId }) },
  'chat.regenerate': { scope: 'target', input: (i) => ({ contextId: i.contextId, messageId: i.messageId }) },
  'run.latest': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'run.list': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'events.list': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'events.onContext': { scope: 'target', input: (i) => ({ contextId: i.contextId }) },
  'system.health': { scope: 'public', input: () => undefined },
  'system.metrics': { scope: 'own', input: () => undefined },
  'system.models': { scope: 'own', input: () => undefined },
  'apiToken.create': { scope: 'own', input: () => ({ name: 'not yours' }) },
  'apiToken.list': { scope: 'own', input: () => undefined },
  'apiToken.revoke': { scope: 'target', input: (i) => ({ id: i.tokenId }) },
};

/** The procedures that take ids inside a context (run, tool call, message, branch): checked again on the caller's own context. */
const INNER_IDS = ['context.messages', 'context.switchBranch', 'chat.sendMessage', 'chat.approveTools', 'chat.cancel', 'chat.regenerate'];

interface Answer {
  status: number;
  code: string;
  appCode: string;
  message: string;
  data?: unknown;
  /** Subscriptions: how many items (events with an id) arrived before the error. */
  items?: number;
}

let databaseUrl: string;
let server: TestServer;
let url: string;

/** One call over raw HTTP, as any client would make it (superjson envelope, no batching). */
async function call(path: string, input: unknown, headers: Record<string, string>): Promise<Answer> {
  const type = procedures[path];
  if (type === 'subscription') return subscribeRaw(path, input, headers);
  const envelope = superjson.serialize(input);
  const response =
    type === 'query'
      ? await fetch(`${url}/api/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(envelope))}`}`, {
          headers,
          signal: AbortSignal.timeout(15_000),
        })
      : await fetch(`${url}/api/trpc/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: input === undefined ? undefined : JSON.stringify(envelope),
          signal: AbortSignal.timeout(15_000),
        });
  const body = (await response.json()) as { result?: { data: never }; error?: never };
  if (body.error) {
    const error = superjson.deserialize(body.error) as { message: string; data: { code: string; appCode: string } };
    return { status: response.status, code: error.data.code, appCode: error.data.appCode, message: error.message };
  }
  return { status: response.status, code: 'OK', appCode: 'OK', message: '', data: superjson.deserialize(body.result!.data) };
}

/**
 * `events.onContext` over raw SSE (GET, Accept: text/event-stream): reads
 * until the stream's `serialized-error` (or 5 s), counting any item that
 * arrived first (tracked events carry an `id:` line).
 */
async function subscribeRaw(path: string, input: unknown, headers: Record<string, string>): Promise<Answer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5_000);
  let text = '';
  let status = 0;
  try {
    const response = await fetch(`${url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    status = response.status;
    if (!response.headers.get('content-type')?.includes('text/event-stream')) {
      const body = (await response.json()) as { error: never };
      const error = superjson.deserialize(body.error) as { message: string; data: { code: string; appCode: string } };
      return { status, code: error.data.code, appCode: error.data.appCode, message: error.message, items: 0 };
    }
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    while (!/event: serialized-error\ndata: .*\n/.test(text)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    void reader.cancel().catch(() => {});
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  const blocks = text.split(/\n{2,}/).map((b) => b.trim()).filter(Boolean);
  const items = blocks.filter((b) => /^id: /m.test(b)).length;
  const failure = blocks.find((b) => b.startsWith('event: serialized-error'));
  if (!failure) return { status, code: 'NO_ERROR', appCode: 'NO_ERROR', message: text.slice(0, 500), items };
  const error = superjson.deserialize(JSON.parse(failure.split('\ndata: ')[1]!)) as { message: string; data: { code: string; appCode: string } };
  return { status, code: error.data.code, appCode: error.data.appCode, message: error.message, items };
}

/** Row counts of every table of the schema (auth tables included), from information_schema. */
async function tableCounts(): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>(
    databaseUrl,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    counts[table_name] = (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "${table_name}"`))[0]!.n;
  }
  return counts;
}

/** Everything of A's that a foreign call could change. */
async function snapshotOfA() {
  const ctx = `SELECT id FROM "Context" WHERE "ownerId" = $1`;
  const count = async (q: string) => (await sql<{ n: number }>(databaseUrl, q, [userA]))[0]!.n;
  return {
    contexts: await sql(databaseUrl, `SELECT id, title, "systemPrompt", version, "lastEventSeq", "activeBranchId", state, "deletedAt" FROM "Context" WHERE "ownerId" = $1 ORDER BY id`, [userA]),
    branches: await count(`SELECT count(*)::int AS n FROM "Branch" WHERE "contextId" IN (${ctx})`),
    messages: await count(`SELECT count(*)::int AS n FROM "Message" WHERE "contextId" IN (${ctx})`),
    runs: await sql(databaseUrl, `SELECT id, status, attempt FROM "Run" WHERE "contextId" IN (${ctx}) ORDER BY id`, [userA]),
    toolCalls: await sql(databaseUrl, `SELECT id, status, "decidedBy" FROM "ToolCall" WHERE "runId" IN (SELECT id FROM "Run" WHERE "contextId" IN (${ctx})) ORDER BY id`, [userA]),
    events: await count(`SELECT count(*)::int AS n FROM "Event" WHERE "contextId" IN (${ctx})`),
    notes: await count(`SELECT count(*)::int AS n FROM "Note" WHERE "contextId" IN (${ctx})`),
    idempotency: await count(`SELECT count(*)::int AS n FROM "IdempotencyRecord" WHERE "ownerId" = $1`),
    tokens: await sql(databaseUrl, `SELECT id, name, "revokedAt" IS NOT NULL AS revoked FROM "ApiToken" WHERE "userId" = $1 ORDER BY id`, [userA]),
    sessions: await count(`SELECT count(*)::int AS n FROM auth_session WHERE "userId" = $1`),
    user: await sql(databaseUrl, `SELECT id, email, name FROM auth_user WHERE id = $1`, [userA]),
  };
}

let userA: string;
let cookieA: string;
let tokenA: string;
let tokenAId: string;
let revokedTokenA: string;
let tokenB: string;
let cookieGuest: string;
let clientA: Client;
let A: Ids;
let missing: Ids;
/** A context of B's own, and one of the guest's own, for the ids-inside-a-context checks. */
let contextOfB: string;
let contextOfGuest: string;
let before: Awaited<ReturnType<typeof snapshotOfA>>;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
  url = server.url;

  // A: a signed-up account with a token, and a second token of A's that is then revoked.
  const emailA = `alice-${randomUUID()}@example.com`;
  cookieA = await signUp(url, emailA);
  tokenA = await tokenFor(url, cookieA, 'alice');
  revokedTokenA = await tokenFor(url, cookieA, 'alice-revoked');
  userA = (await sql<{ id: string }>(databaseUrl, `SELECT id FROM auth_user WHERE email = $1`, [emailA]))[0]!.id;
  clientA = createChatClient({ url, token: tokenA, retry: false });
  const tokens = await clientA.apiToken.list.query();
  tokenAId = tokens.find((t) => t.name === 'alice')!.id;
  await clientA.apiToken.revoke.mutate({ id: tokens.find((t) => t.name === 'alice-revoked')!.id });

  // A's context: a completed turn, then a run awaiting approval of a save_note tool call.
  const { context } = await clientA.context.create.mutate({ title: 'Alice private', systemPrompt: 'secret', idempotencyKey: 'alice-create' });
  const first = await clientA.chat.sendMessage.mutate({ contextId: context.id, content: 'Hello, private world' });
  await waitIdle(clientA, context.id);
  const pending = await clientA.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"private","body":"do not read"}' });
  const state = await waitFor(
    async () => {
      const s = await clientA.context.state.query({ contextId: context.id });
      return s.state.type === 'AwaitingToolApproval' ? s : null;
    },
    { what: 'AwaitingToolApproval' },
  );
  const got = await clientA.context.get.query({ contextId: context.id });
  expect(got.latestRun).toMatchObject({ id: pending.run.id, status: 'awaiting_approval' });
  const runs = await clientA.run.list.query({ contextId: context.id });
  expect(runs.map((r) => r.status).sort()).toEqual(['awaiting_approval', 'completed']);
  expect(runs.find((r) => r.id === first.run.id)?.status).toBe('completed');
  A = {
    contextId: context.id,
    runId: pending.run.id,
    toolCallId: state.pendingToolCalls[0]!.id,
    messageId: first.message.id,
    branchId: got.context.activeBranchId!,
    tokenId: tokenAId,
  };
  const fresh = () => randomUUID().replaceAll('-', '');
  missing = { contextId: `ctx_${fresh()}`, runId: `run_${fresh()}`, toolCallId: `tc_${fresh()}`, messageId: `msg_${fresh()}`, branchId: `br_${fresh()}`, tokenId: `tok_${fresh()}` };

  // B: another signed-up account with a token; a guest with a cookie. Each has a context of its own.
  tokenB = await tokenFor(url, await signUp(url, `bob-${randomUUID()}@example.com`), 'bob');
  cookieGuest = await guestSession(url);
  contextOfB = (await createChatClient({ url, token: tokenB, retry: false }).context.create.mutate({ title: 'Bob' })).context.id;
  contextOfGuest = (
    await createChatClient({ url, headers: { cookie: cookieGuest, origin: url }, retry: false }).context.create.mutate({ title: 'Guest' })
  ).context.id;

  before = await snapshotOfA();
  expect(before.runs).toHaveLength(2);
  expect(before.toolCalls).toEqual([{ id: A.toolCallId, status: 'pending_approval', decidedBy: null }]);
  expect(before.idempotency).toBeGreaterThan(0);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe('isolation matrix', () => {
  it('covers every procedure of the router (a new procedure must be added to the matrix)', () => {
    expect(Object.keys(procedures).sort()).toEqual(Object.keys(MATRIX).sort());
    expect(procedures['events.onContext']).toBe('subscription');
    // DESIGN §9's contract: these exist, whatever else is added.
    for (const path of ['context.create', 'context.list', 'context.get', 'context.state', 'context.messages', 'context.update', 'context.delete', 'context.switchBranch', 'chat.sendMessage', 'chat.approveTools', 'chat.cancel', 'chat.regenerate', 'run.latest', 'run.list', 'events.list', 'events.onContext', 'system.health', 'system.models', 'apiToken.create', 'apiToken.list', 'apiToken.revoke']) {
      expect(procedures, path).toHaveProperty([path]);
    }
  });

  it('A itself can read its data (the ids used below are real)', async () => {
    expect(await call('context.get', { contextId: A.contextId }, bearer(tokenA))).toMatchObject({ status: 200 });
    expect(await call('context.get', { contextId: A.contextId }, { cookie: cookieA })).toMatchObject({ status: 200 });
    const latest = (await call('run.latest', { contextId: A.contextId }, bearer(tokenA))).data as { toolCalls: { id: string }[] };
    expect(latest.toolCalls.map((t) => t.id)).toEqual([A.toolCallId]);
    const sub = await subscribeRaw('events.onContext', { contextId: A.contextId }, bearer(tokenA)).catch(() => null);
    // A's own subscription streams (no error within the read window): A's events arrive.
    expect(sub?.code).toBe('NO_ERROR');
    expect(sub?.items).toBeGreaterThan(0);
  });

  const unauthenticated: [string, () => Record<string, string>, string[]][] = [
    ['(a) no identity', () => ({}), ['UNAUTHENTICATED']],
    ['(a) no identity, x-owner-id: A', () => ({ 'x-owner-id': userA }), ['UNAUTHENTICATED']],
    ['(a) no identity, chat_owner cookie naming A', () => ({ cookie: `chat_owner=${userA}`, 'x-owner-id': userA }), ['UNAUTHENTICATED']],
    ['(c) A\'s own revoked token', () => bearer(revokedTokenA), ['INVALID_TOKEN']],
    ['(c) A\'s revoked token with x-owner-id: A', () => ({ ...bearer(revokedTokenA), 'x-owner-id': userA }), ['INVALID_TOKEN']],
    ['(e) a malformed token', () => bearer('not a token at all'), ['INVALID_TOKEN']],
    ['(e) a well-formed unknown token', () => bearer(`chat_${'A'.repeat(43)}`), ['INVALID_TOKEN']],
    ['(e) an empty Bearer', () => ({ authorization: 'Bearer ' }), ['INVALID_TOKEN']],
    ['(e) a Basic authorization', () => ({ authorization: `Basic ${Buffer.from(`${userA}:x`).toString('base64')}` }), ['INVALID_TOKEN']],
    ['(e) a tampered copy of A\'s token', () => bearer(tokenA.slice(0, -2) + (tokenA.endsWith('AA') ? 'BB' : 'AA')), ['INVALID_TOKEN']],
    ['(e) a garbage session cookie', () => ({ cookie: garbageCookie('garbage'), origin: url }), ['UNAUTHENTICATED']],
    ['(e) A\'s session cookie with a forged signature', () => ({ cookie: forgedCookie(cookieA), origin: url }), ['UNAUTHENTICATED']],
    ['(e) a cookie of random bytes', () => ({ cookie: `better-auth.session_token=${encodeURIComponent('\u00ff\u0001%%;=')}; x=${'y'.repeat(3000)}`, origin: url }), ['UNAUTHENTICATED']],
  ];

  for (const [label, headers, appCodes] of unauthenticated) {
    it(`${label}: UNAUTHORIZED on every procedure but system.health, and nothing is written`, async () => {
      const counts = await tableCounts();
      for (const [path, { scope, input }] of Object.entries(MATRIX)) {
        for (const ids of [A, missing]) {
          const answer = await call(path, input(ids), { origin: url, ...headers() });
          if (scope === 'public') {
            expect(answer, path).toMatchObject({ status: 200, data: { ok: true } });
            continue;
          }
          expect({ path, code: answer.code, items: answer.items ?? 0 }).toEqual({ path, code: 'UNAUTHORIZED', items: 0 });
          expect(appCodes, `${path}: ${answer.appCode}`).toContain(answer.appCode);
          if (procedures[path] !== 'subscription') expect(answer.status, path).toBe(401);
          // Nothing of A's is named in the answer.
          expect(answer.message, path).not.toContain(A.contextId);
        }
      }
      expect(await tableCounts()).toEqual(counts);
    });
  }

  const others: [string, () => Record<string, string>, () => string][] = [
    ['(b) another user\'s token', () => bearer(tokenB), () => contextOfB],
    ['(b) another user\'s token with x-owner-id: A', () => ({ ...bearer(tokenB), 'x-owner-id': userA }), () => contextOfB],
    ['(d) another guest (cookie, app Origin)', () => ({ cookie: cookieGuest, origin: url }), () => contextOfGuest],
    ['(d) another guest with x-owner-id: A and a chat_owner cookie', () => ({ cookie: `${cookieGuest}; chat_owner=${userA}`, origin: url, 'x-owner-id': userA }), () => contextOfGuest],
  ];

  for (const [label, headers, ownContext] of others) {
    it(`${label}: NOT_FOUND on A's context, run, tool call, message, branch and token, as for ids that do not exist`, async () => {
      const normalise = (answer: Answer, ids: Ids) => {
        let message = answer.message;
        for (const key of Object.keys(ids) as (keyof Ids)[]) message = message.replaceAll(ids[key], `<${key}>`);
        return { status: answer.status, code: answer.code, appCode: answer.appCode, message, items: answer.items ?? 0 };
      };
      for (const [path, { scope, input }] of Object.entries(MATRIX)) {
        const onA = await call(path, input(A), headers());
        if (scope === 'public') {
          expect(onA, path).toMatchObject({ status: 200, data: { ok: true } });
        } else if (scope === 'own') {
          // The caller's own account only: it works, and nothing of A's is in it.
          expect(onA.status, `${path}: ${onA.appCode} ${onA.message}`).toBe(200);
          const seen = JSON.stringify(onA.data);
          for (const id of [A.contextId, A.runId, A.toolCallId, A.messageId, A.tokenId, userA]) expect(seen, path).not.toContain(id);
        } else {
          const onMissing = await call(path, input(missing), headers());
          expect(normalise(onA, A), path).toEqual(normalise(onMissing, missing));
          expect(onA.code, path).toBe('NOT_FOUND');
          expect(onA.message, path).not.toMatch(/secret|private|Alice/i);
          if (procedures[path] !== 'subscription') expect(onA.status, path).toBe(404);
        }
      }
      // A's run, tool call, message and branch named inside the caller's own context: as if they did not exist.
      for (const path of INNER_IDS) {
        const own = ownContext();
        const onA = await call(path, MATRIX[path]!.input({ ...A, contextId: own }), headers());
        const onMissing = await call(path, MATRIX[path]!.input({ ...missing, contextId: own }), headers());
        expect(normalise(onA, A), path).toEqual(normalise(onMissing, missing));
        expect(onA.status, `${path}: ${onA.appCode}`).toBeGreaterThanOrEqual(400);
        expect(onA.status, `${path}: ${onA.appCode}`).toBeLessThan(500);
      }
      // A's token is still A's: B or the guest could not revoke it.
      expect(await call('apiToken.list', undefined, bearer(tokenA))).toMatchObject({ status: 200 });
    });
  }

  it('a cookie-authenticated mutation from a foreign Origin (or none) is FORBIDDEN / CROSS_SITE_REQUEST and writes nothing', async () => {
    const counts = await tableCounts();
    const mutations = Object.keys(MATRIX).filter((path) => procedures[path] === 'mutation');
    expect(mutations.length).toBeGreaterThan(5);
    const origins: [string, Record<string, string>][] = [
      ['a foreign Origin', { origin: 'https://evil.example' }],
      ['a look-alike Origin', { origin: `${url}.evil.example` }],
      ['Origin: null', { origin: 'null' }],
      ['a malformed Origin', { origin: '::not a url::' }],
      ['no Origin', {}],
      ['no Origin, Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['a foreign Origin with a same-origin Referer', { origin: 'https://evil.example', referer: `${url}/` }],
    ];
    for (const [cookie, ids] of [
      [cookieA, A],
      [cookieGuest, { ...A, contextId: contextOfGuest }],
    ] as const) {
      for (const [label, headers] of origins) {
        for (const path of mutations) {
          const answer = await call(path, MATRIX[path]!.input(ids), { cookie, ...headers });
          expect({ path, label, status: answer.status, code: answer.code, appCode: answer.appCode }).toEqual({
            path,
            label,
            status: 403,
            code: 'FORBIDDEN',
            appCode: 'CROSS_SITE_REQUEST',
          });
        }
      }
    }
    expect(await tableCounts()).toEqual(counts);
  });

  it('system.health answers without any identity', async () => {
    const response = await fetch(`${url}/api/trpc/system.health`, { signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    expect(superjson.deserialize(((await response.json()) as { result: { data: never } }).result.data)).toMatchObject({ ok: true });
  });

  it('the subscription through the typed client (EventSource) errors for another user and delivers nothing', async () => {
    const { EventSource } = await import('eventsource');
    for (const headers of [bearer(tokenB), {}, bearer(revokedTokenA)]) {
      const client = createChatClient({ url, headers, EventSource: EventSource as never, retry: false });
      const received: unknown[] = [];
      const error = await new Promise<{ data?: { code?: string } }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the subscription neither failed nor delivered')), 10_000);
        const sub = client.events.onContext.subscribe(
          { contextId: A.contextId },
          {
            onData: (d) => received.push(d),
            onError: (e) => {
              clearTimeout(timer);
              sub.unsubscribe();
              resolve(e as never);
            },
          },
        );
      });
      expect(received).toEqual([]);
      expect(['NOT_FOUND', 'UNAUTHORIZED']).toContain(error.data?.code);
    }
  });

  it('afterwards A\'s data is exactly as before: rows, version, lastEventSeq, runs, the pending tool call, tokens', async () => {
    const after = await snapshotOfA();
    expect(after).toEqual(before);
    const state = await clientA.context.state.query({ contextId: A.contextId });
    expect(state.state.type).toBe('AwaitingToolApproval');
    expect(state.pendingToolCalls.map((t) => t.id)).toEqual([A.toolCallId]);
    const ctx = before.contexts.find((c) => (c as { id: string }).id === A.contextId) as { version: number; lastEventSeq: number };
    expect({ version: state.version, lastEventSeq: state.lastEventSeq }).toEqual({ version: ctx.version, lastEventSeq: ctx.lastEventSeq });
    expect(await call('context.get', { contextId: A.contextId }, bearer(tokenA))).toMatchObject({ status: 200, data: { context: { title: 'Alice private', deletedAt: null } } });
  });
});

/** A session cookie of the server's cookie name with the given value. */
function garbageCookie(value: string) {
  return `${cookieName()}=${value}`;
}

function cookieName() {
  return cookieA.split(';').map((c) => c.trim().split('=')[0]!).find((n) => n.includes('session_token')) ?? 'better-auth.session_token';
}

/** A's real session token with its signature altered (better-auth signs `<token>.<signature>`). */
function forgedCookie(cookie: string) {
  const part = cookie.split(';').map((c) => c.trim()).find((c) => c.includes('session_token='))!;
  const value = decodeURIComponent(part.slice(part.indexOf('=') + 1));
  const [token] = value.split('.');
  return `${cookieName()}=${encodeURIComponent(`${token}.${'x'.repeat(43)}=`)}`;
}
