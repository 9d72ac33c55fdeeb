/**
 * Property-based fuzzing (fast-check) of every procedure of the router over
 * real HTTP: wrong types, huge strings, deep nesting, NUL and lone
 * surrogates, prototype-pollution keys, malformed superjson envelopes,
 * malformed and oversized batches, non-JSON bodies, wrong content types and
 * methods. Every answer is a typed 4xx (a tRPC error with a code and an
 * appCode; 413 for a body over the limit), never a 5xx and never a hang
 * (each request has a timeout); an input is accepted exactly when the
 * procedure's own schema accepts it; and at the end the row count of every
 * table is what it was.
 *
 * The procedures and their input schemas come from the router itself
 * (packages/api/src/root.ts), so a new procedure is fuzzed too.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { appRouter } from '../../packages/api/src/root.ts';
import { createTestDatabase } from '../support/database.ts';
import { guestSession } from '../support/identity.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitIdle, type TestServer } from '../support/server.ts';

type Kind = 'query' | 'mutation' | 'subscription';
interface ProcedureDef {
  _def: { type: Kind; inputs: ZodType[] };
}
const PROCEDURES = appRouter._def.procedures as unknown as Record<string, ProcedureDef>;
const PATHS = Object.keys(PROCEDURES);
const kindOf = (path: string) => PROCEDURES[path]!._def.type;
/** The procedure's input schema (its single `.input(...)`), or null if it takes none. */
const schemaOf = (path: string): ZodType | null => PROCEDURES[path]!._def.inputs[0] ?? null;
/** Procedures whose every accepted input writes (they name no existing row): fuzzed with rejected inputs only. */
const CREATES = new Set(['context.create', 'apiToken.create']);

const MAX_BODY_BYTES = 1_000_000;
const MAX_BATCH_CALLS = 20;
const MAX_INT = 2_147_483_647;
const REQUEST_TIMEOUT_MS = 10_000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);

let databaseUrl: string;
let server: TestServer;
let url: string;
let token: string;
let fuzzUser: string;
let guestCookie: string;
let guestUser: string;
/** The fuzz user's own rows, so that valid shapes reach past "not found". */
let own: { contextId: string; runId: string; messageId: string; branchId: string };
let baseline: Record<string, number>;

// ---------------------------------------------------------------------------------------------
// Arbitraries

const SPECIAL_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udbffA',
  '\udc00',
  'x\ud83d',
  '\ude00y',
  '\ud83d\ude00',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  '\t\n\r',
  '%00',
  '%',
  '{"json":1}',
  `'; DROP TABLE "Context"; --`,
  '\u202e\u2066',
  '\uffff\ufffe\ufeff',
  '../'.repeat(8),
  'ctx_',
  `chat_${'A'.repeat(43)}`,
  'local:scripted',
  'Infinity',
  'NaN',
];

const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...SPECIAL_STRINGS), fc.string({ maxLength: 8 })).map((parts) => parts.join('')),
  // Over the bounds of ids (100), titles (200), reasons (2000); still within a URL.
  fc.integer({ min: 95, max: 3_000 }).map((n) => 'x'.repeat(n)),
);

const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'];

const { value: hostileValue } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(MAX_INT + 1, -1, 2 ** 53, -0, 1e308, -1e308, 0.5),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.bigInt(),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...POLLUTION_KEYS, 'contextId', 'json', 'meta')), tie('value'), {
    maxKeys: 4,
  }),
}));

const fresh = () => randomUUID().replaceAll('-', '').slice(0, 20);
const someId = fc.oneof(fc.constant('missing').map(() => `x_${fresh()}`), hostileString);
const seqLike = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(MAX_INT, MAX_INT + 1, 1.5, -0), fc.integer());

/** Plausible values per field name (real ids of the fuzz user among them), mixed with hostile ones. */
function fieldArbitrary(key: string): fc.Arbitrary<unknown> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    contextId: fc.oneof(fc.constant(null).map(() => own.contextId), someId),
    runId: fc.oneof(fc.constant(null).map(() => own.runId), someId),
    messageId: fc.oneof(fc.constant(null).map(() => own.messageId), someId),
    editOfMessageId: fc.oneof(fc.constant(null).map(() => own.messageId), someId),
    branchId: fc.oneof(fc.constant(null).map(() => own.branchId), someId),
    toolCallId: someId,
    id: someId,
    clientMessageId: someId,
    idempotencyKey: someId,
    cursor: fc.oneof(seqLike, someId),
    limit: seqLike,
    afterSeq: seqLike,
    expectedVersion: seqLike,
    content: hostileString,
    title: hostileString,
    systemPrompt: fc.oneof(hostileString, fc.constant(null)),
    name: hostileString,
    model: fc.constantFrom('local:scripted', 'local', 'nope:model', 'LOCAL:x', ':', 'a:\u0000'),
    mode: fc.constantFrom('chat', 'agent', 'Chat', '', 'admin'),
    busyPolicy: fc.constantFrom('queue', 'reject', 'both'),
    status: fc.constantFrom('pending', 'completed', 'awaiting_approval', 'nope'),
    lastEventId: fc.constantFrom('0', '1', '2147483648', '99999999999', '-1', 'a', '', null),
    decisions: fc.oneof(
      fc.array(fc.record({ toolCallId: someId, approve: fc.oneof(fc.boolean(), hostileValue), reason: hostileString }, { requiredKeys: ['toolCallId'] }), {
        maxLength: 3,
      }),
      fc.constant(null).map(() => Array.from({ length: 101 }, () => ({ toolCallId: fresh(), approve: true }))),
    ),
  };
  return fc.oneof({ weight: 3, arbitrary: plausible[key] ?? hostileValue }, { weight: 2, arbitrary: hostileValue });
}

/** The top-level keys of a procedure's input object (through defaults and optionals). */
function shapeKeys(schema: ZodType | null): string[] {
  let s = schema as unknown as { shape?: Record<string, unknown>; def?: { innerType?: unknown } } | null;
  for (let i = 0; s && !s.shape && s.def?.innerType && i < 5; i++) s = s.def.innerType as typeof s;
  return s?.shape ? Object.keys(s.shape) : [];
}

/** An input for `path`: anything at all, or its own shape with hostile fields (and pollution keys). */
function inputArbitrary(path: string): fc.Arbitrary<unknown> {
  const keys = shapeKeys(schemaOf(path));
  const shaped = keys.length
    ? fc.record(Object.fromEntries(keys.map((k) => [k, fieldArbitrary(k)])), { requiredKeys: [] })
    : fc.constant({});
  return fc.oneof({ weight: 1, arbitrary: hostileValue }, { weight: 3, arbitrary: shaped });
}

/** How the input travels: superjson, plain JSON, a garbage superjson meta, or with pollution keys spliced into the JSON text. */
const encodingArbitrary = fc.oneof(
  fc.constant({ kind: 'superjson' as const }),
  fc.constant({ kind: 'json' as const }),
  fc.record({ kind: fc.constant('meta' as const), meta: hostileValue }),
  fc.record({
    kind: fc.constant('meta' as const),
    meta: fc.record({
      values: fc.oneof(
        fc.dictionary(fc.constantFrom('', 'contextId', 'title', 'a.b', '__proto__', 'constructor.prototype'), fc.constantFrom(['Date'], ['bigint'], ['map'], ['set'], ['undefined'], ['regexp'], ['class', 'X'], ['custom', 'Y'], ['symbol', 'z'], 'nope', ['Date', ['bigint']])),
        fc.constantFrom(['map'], ['set'], ['Date'], ['undefined']),
      ),
      referentialEqualities: fc.option(fc.dictionary(fc.constantFrom('', 'contextId', 'a'), fc.constantFrom(['__proto__.polluted'], ['constructor.prototype.polluted'], ['contextId']))),
      v: fc.constantFrom(1, 2, 'x'),
    }),
  }),
  fc.record({
    kind: fc.constant('pollute' as const),
    key: fc.constantFrom(...POLLUTION_KEYS),
    payload: fc.constantFrom(
      '{"polluted":true,"isAdmin":true}',
      '{"prototype":{"polluted":true}}',
      '{"contextId":"@own","content":"via the prototype","title":"polluted","name":"polluted"}',
      '"x"',
      'null',
    ),
  }),
);
type Encoding = typeof encodingArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** Any string as cookie-value bytes (%-escapes, lone surrogates included, where encodeURIComponent would throw). */
const cookieSafe = (v: string) => Array.from(v, (c) => (/^[\w.~-]$/.test(c) ? c : `%${c.charCodeAt(0).toString(16)}`)).join('').slice(0, 4000);

const jsonSafe = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/** The envelope's JSON text for an input. */
function encode(input: unknown, encoding: Encoding): string {
  switch (encoding.kind) {
    case 'superjson':
      try {
        return JSON.stringify(superjson.serialize(input));
      } catch {
        return jsonSafe({ json: input }); // superjson refuses some inputs (e.g. __proto__ keys): send them as JSON
      }
    case 'json':
      return jsonSafe({ json: input });
    case 'meta':
      return jsonSafe({ json: input, meta: encoding.meta });
    case 'pollute': {
      const json = jsonSafe({ json: input ?? null });
      const payload = encoding.payload.replace('@own', own.contextId);
      // Into the input object when there is one, else next to "json".
      return json.startsWith('{"json":{')
        ? json.replace('{"json":{', `{"json":{${JSON.stringify(encoding.key)}:${payload}${json === '{"json":{}}' ? '' : ','}`)
        : json.replace(/^\{/, `{${JSON.stringify(encoding.key)}:${payload},`);
    }
  }
}

const UNPARSEABLE = Symbol('unparseable');

/** What the server's input parser sees for this envelope text (the same superjson the server runs). */
function seenByServer(text: string): unknown {
  try {
    return superjson.deserialize(JSON.parse(text));
  } catch {
    return UNPARSEABLE;
  }
}

function accepts(path: string, seen: unknown): boolean {
  const schema = schemaOf(path);
  if (!schema) return true; // a procedure without input never parses what it is sent
  return seen !== UNPARSEABLE && schema.safeParse(seen).success;
}

/** Would this call write (or open a live stream), were it accepted? Such inputs are not sent. */
function wouldAct(path: string, seen: unknown): boolean {
  if (kindOf(path) === 'query' || !accepts(path, seen)) return false;
  if (CREATES.has(path)) return true;
  // Anything else names a context, run or token by id: only the fuzz user's own context exists.
  return (seen as { contextId?: unknown } | null)?.contextId === own.contextId;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: unknown;
}

async function send(method: 'GET' | 'POST', target: string, init: { headers?: Record<string, string>; body?: BodyInit; duplex?: 'half' } = {}): Promise<Answer> {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(`${url}${target}`, { method, ...init, signal } as RequestInit);
  } catch (error) {
    throw new Error(`${method} ${target.slice(0, 200)}: no answer (${signal.aborted ? `hang: no answer within ${REQUEST_TIMEOUT_MS} ms` : String(error)})`);
  }
  const contentType = response.headers.get('content-type') ?? '';
  let text: string;
  if (contentType.includes('text/event-stream')) {
    text = await readUntilError(response, signal);
  } else {
    text = await response.text().catch((error: unknown) => {
      throw new Error(`${method} ${target.slice(0, 200)}: the answer's body did not arrive (${signal.aborted ? 'hang' : String(error)})`);
    });
  }
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, contentType, text, body };
}

/** An SSE answer: read until its serialized-error (a subscription that was refused), with the request's timeout. */
async function readUntilError(response: Response, signal: AbortSignal): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!/event: serialized-error\ndata: .*\n/.test(text)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (/^id: /m.test(text)) break; // an item was delivered: the caller's assertion fails on it
    }
  } catch {
    if (signal.aborted) text += '\n<<hang: the stream neither failed nor ended>>';
  } finally {
    void reader.cancel().catch(() => {});
  }
  return text;
}

interface TypedError {
  code: string;
  appCode: string;
  httpStatus: number;
  message: string;
}

/** The typed errors of an answer: one per call (a batch answers with an array), or the 413 of the body limit. */
function errorsOf(answer: Answer): (TypedError | 'result')[] {
  if (answer.contentType.includes('text/event-stream')) {
    const block = answer.text.split(/\n{2,}/).map((b) => b.trim()).find((b) => b.startsWith('event: serialized-error'));
    if (!block) throw new Error(`a subscription answered without an error: ${answer.text.slice(0, 300)}`);
    return [typed(superjson.deserialize(JSON.parse(block.split('\ndata: ')[1]!)), answer)];
  }
  if (answer.status === 413) {
    // Refused before tRPC by its Content-Length (node-server.ts), or by tRPC while reading a chunked body: both typed.
    const error = (answer.body as { error?: { code?: string; json?: { data?: { code?: string } } } } | undefined)?.error;
    expect(error?.code ?? error?.json?.data?.code, answer.text.slice(0, 300)).toBe('PAYLOAD_TOO_LARGE');
    return [{ code: 'PAYLOAD_TOO_LARGE', appCode: 'PAYLOAD_TOO_LARGE', httpStatus: 413, message: '' }];
  }
  const items = Array.isArray(answer.body) ? answer.body : [answer.body];
  return items.map((item) => {
    const envelope = item as { result?: unknown; error?: unknown } | undefined;
    if (envelope && 'result' in envelope) return 'result';
    if (!envelope?.error) throw new Error(`not a typed answer (HTTP ${answer.status}): ${answer.text.slice(0, 300)}`);
    return typed(superjson.deserialize(envelope.error as never), answer);
  });
}

function typed(error: unknown, answer: Answer): TypedError {
  const e = error as { message?: unknown; data?: { code?: unknown; appCode?: unknown; httpStatus?: unknown; stack?: unknown } };
  const out = { code: e?.data?.code, appCode: e?.data?.appCode, httpStatus: e?.data?.httpStatus, message: e?.message };
  expect(typeof out.code, `untyped error (HTTP ${answer.status}): ${answer.text.slice(0, 300)}`).toBe('string');
  expect(typeof out.appCode, `no appCode: ${answer.text.slice(0, 300)}`).toBe('string');
  expect(out.httpStatus, `not a 4xx: ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(out.httpStatus, `not a 4xx: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  expect(e.data?.stack ?? undefined, 'a stack in an answer').toBeUndefined();
  return out as TypedError;
}

/** Never a 5xx; always a typed answer. Returns the errors (or 'result's) it carries. */
function expectTyped(answer: Answer, what: string): (TypedError | 'result')[] {
  expect(answer.status, `${what}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  const errors = errorsOf(answer);
  if (answer.status >= 400) expect(errors.every((e) => e !== 'result'), what).toBe(true);
  return errors;
}

const authHeaders = () => ({ authorization: `Bearer ${token}` });
const guestHeaders = () => ({ cookie: guestCookie, origin: url });

/** One call of `path` with the envelope text, by its own method (or the other one). */
function callWith(path: string, text: string, headers: Record<string, string>, method: 'GET' | 'POST') {
  const kind = kindOf(path);
  if (method === 'GET') {
    return send('GET', `/api/trpc/${path}?input=${encodeURIComponent(text)}`, {
      headers: { ...(kind === 'subscription' ? { accept: 'text/event-stream' } : {}), ...headers },
    });
  }
  return send('POST', `/api/trpc/${path}`, { headers: { 'content-type': 'application/json', ...headers }, body: text });
}

/** Row counts of every table of the schema (from information_schema; the rate limiter's counters of the fuzz users aside). */
async function tableCounts(): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>(
    databaseUrl,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    // Limiter counters are not data: the fuzz users' send budgets, and the per-address count of sign-in
    // attempts that the hostile bodies on the auth routes spend (AUTH_ATTEMPTS_PER_IP_PER_MIN).
    const where =
      table_name === 'rate_limits'
        ? `WHERE key NOT LIKE '%' || $1 || '%' AND key NOT LIKE '%' || $2 || '%' AND key NOT LIKE 'sign-ins:%'`
        : '';
    const values = where ? [fuzzUser, guestUser] : [];
    counts[table_name] = (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "${table_name}" ${where}`, values))[0]!.n;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl, env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), MAX_BATCH_CALLS: String(MAX_BATCH_CALLS) } });
  url = server.url;
  token = await server.token('fuzz');
  fuzzUser = (await sql<{ userId: string }>(databaseUrl, `SELECT "userId" FROM "ApiToken" WHERE name = 'fuzz'`))[0]!.userId;
  guestCookie = await guestSession(url);
  const client = server.client('fuzz');
  const { context } = await client.context.create.mutate({ title: 'fuzz target' });
  const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'hello' });
  await waitIdle(client, context.id);
  own = { contextId: context.id, runId: sent.run.id, messageId: sent.message.id, branchId: (await client.context.get.query({ contextId: context.id })).context.activeBranchId! };
  // The guest's user id, for the rate limiter's counters (its first call creates none).
  const session = await fetch(`${url}/api/auth/get-session`, { headers: { cookie: guestCookie } });
  guestUser = ((await session.json()) as { user: { id: string } }).user.id;
  baseline = await tableCounts();
  expect(baseline.Context).toBe(1);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe('fuzz: every procedure over HTTP', () => {
  it('the fuzzed procedures are the router\'s, and each has what the fuzz needs', () => {
    expect(PATHS.length).toBeGreaterThanOrEqual(20);
    for (const path of PATHS) {
      const schema = schemaOf(path);
      if (schema) expect(shapeKeys(schema).length, `${path}: an input that is not an object`).toBeGreaterThan(0);
    }
  });

  for (const path of PATHS) {
    it(`${path} (${kindOf(path)}): hostile inputs get a typed 4xx, accepted exactly when its schema accepts them`, async () => {
      const kind = kindOf(path);
      await fc.assert(
        fc.asyncProperty(
          inputArbitrary(path),
          encodingArbitrary,
          fc.constantFrom('token', 'token', 'token', 'guest', 'none'),
          fc.constantFrom('own', 'own', 'own', 'other'),
          async (input, encoding, identity, methodChoice) => {
            const text = encode(input, encoding);
            const seen = seenByServer(text);
            const ownMethod = kind === 'mutation' ? 'POST' : 'GET';
            const method = methodChoice === 'own' ? ownMethod : ownMethod === 'GET' ? 'POST' : 'GET';
            if (identity !== 'none') fc.pre(!wouldAct(path, seen));
            const headers = identity === 'token' ? authHeaders() : identity === 'guest' ? guestHeaders() : {};
            const answer = await callWith(path, text, headers, method);
            const what = `${path} ${method} as ${identity}: ${text.slice(0, 200)}`;
            const [error] = expectTyped(answer, what);
            if (method !== ownMethod) {
              // A mutation by GET, a query or subscription by POST.
              expect(error, what).toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
            } else if (path === 'system.health') {
              expect(error, what).toBe('result');
            } else if (identity === 'none') {
              expect(error, what).toMatchObject({ code: 'UNAUTHORIZED', appCode: 'UNAUTHENTICATED' });
            } else if (!accepts(path, seen)) {
              expect(error, what).toMatchObject({ code: 'BAD_REQUEST' });
              expect(['INVALID_INPUT', 'BAD_REQUEST', 'MESSAGE_TOO_LONG'], what).toContain((error as TypedError).appCode);
            } else {
              // Accepted by the schema: a result (a query), or a domain answer (not found, unknown model...).
              if (error !== 'result') expect((error as TypedError).appCode, what).not.toBe('INVALID_INPUT');
              if (kind !== 'query') expect(error, what).not.toBe('result');
            }
          },
        ),
        { numRuns: RUNS, endOnFailure: true },
      );
    });
  }

  it('huge strings: up to ~2 MB; beyond the body limit 413 at once, below it a typed 400 (never written)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 100_000, max: 2_100_000 }),
        fc.constantFrom('context.create', 'context.update', 'chat.sendMessage', 'chat.approveTools', 'apiToken.create', 'context.delete'),
        fc.constantFrom('x', '\u00e9', '\ud83d\ude00', '\u0000', '\ud800'),
        fc.boolean(),
        async (length, path, unit, chunked) => {
          // `length` is the string's size in UTF-8 bytes (up to ~2 MB, the body limit is 1 MB), and it is always
          // over every bound of these fields (MAX_MESSAGE_CHARS, 100,000 UTF-16 units, the largest).
          const big = unit.repeat(Math.max(Math.ceil(length / Buffer.byteLength(unit)), Math.ceil(100_001 / unit.length)));
          const input: Record<string, unknown> = {
            'context.create': { title: big, mode: 'chat' },
            'context.update': { contextId: own.contextId, title: big },
            'chat.sendMessage': { contextId: own.contextId, content: big },
            'chat.approveTools': { contextId: own.contextId, runId: own.runId, decisions: [{ toolCallId: 'x', approve: true, reason: big }] },
            'apiToken.create': { name: big },
            'context.delete': { contextId: big },
          }[path]!;
          const text = JSON.stringify(superjson.serialize(input));
          const bytes = Buffer.byteLength(text);
          const body = chunked
            ? new ReadableStream<Uint8Array>({
                start(controller) {
                  const buffer = Buffer.from(text);
                  for (let i = 0; i < buffer.length; i += 256 * 1024) controller.enqueue(buffer.subarray(i, i + 256 * 1024));
                  controller.close();
                },
              })
            : text;
          const answer = await send('POST', `/api/trpc/${path}`, {
            headers: { 'content-type': 'application/json', ...authHeaders() },
            body,
            ...(chunked ? { duplex: 'half' as const } : {}),
          });
          const what = `${path} with ${bytes} bytes${chunked ? ' (chunked)' : ''}`;
          const [error] = expectTyped(answer, what);
          if (bytes > MAX_BODY_BYTES) expect(answer.status, what).toBe(413);
          else expect(error, what).toMatchObject({ code: 'BAD_REQUEST' });
        },
      ),
      { numRuns: 10, endOnFailure: true },
    );
  });

  it('far over the body limit (5 to 40 MB, with or without Content-Length): the 413 arrives, not a reset connection', async () => {
    for (const size of [5_000_000, 40_000_000]) {
      for (const chunked of [false, true]) {
        const text = `{"json":{"contextId":"${'x'.repeat(size)}"}}`;
        const buffer = Buffer.from(text);
        const body = chunked
          ? new ReadableStream<Uint8Array>({
              start(controller) {
                for (let i = 0; i < buffer.length; i += 1024 * 1024) controller.enqueue(buffer.subarray(i, i + 1024 * 1024));
                controller.close();
              },
            })
          : text;
        const answer = await send('POST', '/api/trpc/context.delete', {
          headers: { 'content-type': 'application/json', ...authHeaders() },
          body,
          ...(chunked ? { duplex: 'half' as const } : {}),
        }).catch((error: unknown) => ({ status: 0, contentType: '', text: String(error), body: undefined }));
        expect(answer.status, `${size} bytes${chunked ? ' chunked' : ''}: ${answer.text.slice(0, 200)}`).toBe(413);
        expectTyped(answer, `${size} bytes`);
      }
    }
  });

  it('deep nesting (in the input, in the envelope, in the meta): a typed 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 50_000 }),
        fc.constantFrom('[', '{"a":'),
        fc.constantFrom('input', 'field', 'meta', 'envelope'),
        fc.constantFrom(...PATHS.filter((p) => kindOf(p) === 'mutation')),
        async (depth, open, where, path) => {
          const close = open === '[' ? ']' : '}';
          const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
          const text = {
            input: `{"json":${deep}}`,
            field: `{"json":{"contextId":${deep},"title":${deep},"name":${deep},"content":${deep}}}`,
            meta: `{"json":{"contextId":"x"},"meta":{"values":${deep}}}`,
            envelope: deep,
          }[where]!;
          const seen = seenByServer(text);
          fc.pre(!wouldAct(path, seen));
          const answer = await send('POST', `/api/trpc/${path}`, { headers: { 'content-type': 'application/json', ...authHeaders() }, body: text });
          const what = `${path}: depth ${depth} ${open} in ${where}`;
          const [error] = expectTyped(answer, what);
          if (Buffer.byteLength(text) > MAX_BODY_BYTES) expect(answer.status, what).toBe(413);
          else if (!accepts(path, seen)) expect(error, what).toMatchObject({ code: 'BAD_REQUEST' });
          // An annotation superjson ignores leaves an acceptable input: then a domain answer (no such context).
          else expect(error, what).toMatchObject({ code: 'NOT_FOUND' });
        },
      ),
      { numRuns: 16, endOnFailure: true },
    );
  });

  it('non-JSON bodies and wrong content types: a typed 4xx, nothing accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PATHS.filter((p) => kindOf(p) === 'mutation')),
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-16',
          'text/plain',
          'text/html',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=xyz',
          'multipart/form-data',
          'application/octet-stream',
          'application/jsonx',
          'APPLICATION/JSON',
          '',
          '*/*',
          null,
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 100 }).map((s) => Buffer.from(s)),
          fc.constantFrom('', '{', '{"json":', 'null', 'undefined', '"json"', '{"json":{"title":"x"}', '\u0000', '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n--xyz--\r\n', 'title=hi&name=x&contextId=y').map((s) => Buffer.from(s)),
          fc.constant(Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x22, 0x00, 0xc3, 0x28, 0xed, 0xa0, 0x80])),
        ),
        async (path, contentType, bytes) => {
          const headers: Record<string, string> = { ...authHeaders() };
          if (contentType !== null) headers['content-type'] = contentType;
          const answer = await send('POST', `/api/trpc/${path}`, { headers, body: bytes });
          const what = `${path} as ${contentType}: ${JSON.stringify(bytes.toString('latin1').slice(0, 100))}`;
          const [error] = expectTyped(answer, what);
          expect(answer.status, what).toBeGreaterThanOrEqual(400);
          expect(error, what).not.toBe('result');
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  });

  it('every non-JSON content type on every mutation (an all-optional input included): a typed 4xx, never accepted', async () => {
    const types = ['multipart/form-data; boundary=xyz', 'application/octet-stream', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'MULTIPART/FORM-DATA; boundary=xyz', ' application/octet-stream'];
    const form = '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nn\r\n--xyz--\r\n';
    for (const path of PATHS.filter((p) => kindOf(p) === 'mutation')) {
      for (const type of types) {
        for (const headers of [authHeaders(), guestHeaders()]) {
          const answer = await send('POST', `/api/trpc/${path}`, { headers: { ...headers, 'content-type': type }, body: type.includes('multipart') ? form : 'title=hi' });
          const what = `${path} as ${type}`;
          const [error] = expectTyped(answer, what);
          expect(answer.status, what).toBeGreaterThanOrEqual(400);
          expect(error, what).not.toBe('result');
        }
      }
    }
  });

  it('malformed batches (mismatched inputs, unknown paths, mixed types, over MAX_BATCH_CALLS): typed 4xx, never a 5xx', async () => {
    const oddPaths = ['nope', 'nope.nothing', '__proto__', 'constructor', 'prototype', 'toString', 'context.__proto__', 'context.constructor', 'hasOwnProperty', 'context', '', 'a.b.c.d', 'system.health.x'];
    /** A call's input that no mutation accepts (none of them takes anything but an object). */
    const nonObjectItem = fc.oneof(
      fc.record({ json: fc.oneof(hostileString, fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.boolean()) }),
      hostileString,
      fc.integer(),
      fc.constant(null),
      fc.array(hostileString, { maxLength: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...PATHS, ...oddPaths), { minLength: 1, maxLength: 30 }),
        fc.constantFrom('GET', 'POST'),
        fc.constantFrom('indexed', 'shifted', 'array', 'garbage', 'missing'),
        fc.array(nonObjectItem, { minLength: 40, maxLength: 40 }),
        fc.constantFrom('1', '0', 'true', ''),
        fc.constantFrom('token', 'none'),
        async (paths, method, layout, items, batchFlag, identity) => {
          const inputs =
            layout === 'indexed'
              ? Object.fromEntries(paths.map((_, i) => [String(i), items[i]]))
              : layout === 'shifted'
                ? Object.fromEntries(paths.map((_, i) => [String(i + 3), items[i]]).concat([['-1', 1], ['__proto__', { json: 1 }], ['999', 2]]))
                : layout === 'array'
                  ? paths.map((_, i) => items[i])
                  : layout === 'garbage'
                    ? items[0]
                    : undefined;
          const text = inputs === undefined ? undefined : JSON.stringify(inputs);
          const query = `?batch=${batchFlag}${method === 'GET' && text !== undefined ? `&input=${encodeURIComponent(text)}` : ''}`;
          const target = `/api/trpc/${paths.map(encodeURIComponent).join(',')}${query}`;
          const headers = identity === 'token' ? authHeaders() : {};
          const answer = await send(method, target, method === 'POST' ? { headers: { 'content-type': 'application/json', ...headers }, body: text ?? '' } : { headers });
          const what = `${method} ${target.slice(0, 300)}`;
          const errors = expectTyped(answer, what);
          if (batchFlag === '1' && paths.length > MAX_BATCH_CALLS) {
            expect(answer.status, what).toBe(400);
            expect(errors[0], what).toMatchObject({ code: 'BAD_REQUEST' });
          }
          // Nothing but a query by GET can succeed; a POST batch carries no acceptable mutation input.
          if (method === 'POST' || identity === 'none') {
            errors.forEach((e, i) => {
              if (e === 'result') expect({ path: paths[i], method }, `${what} #${i}`).toEqual({ path: 'system.health', method: 'GET' });
            });
          }
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('100+ calls in one batch: BAD_REQUEST over MAX_BATCH_CALLS, by GET and by POST, with or without a token', async () => {
    for (const n of [MAX_BATCH_CALLS + 1, 100, 150, 1000]) {
      for (const method of ['GET', 'POST'] as const) {
        for (const headers of [authHeaders(), {}]) {
          const path = method === 'GET' ? 'system.health' : 'context.create';
          const inputs = JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), { json: { title: `t${i}` } }])));
          const target = `/api/trpc/${Array.from({ length: n }, () => path).join(',')}?batch=1`;
          const answer = await send(method, target, method === 'POST' ? { headers: { 'content-type': 'application/json', ...headers }, body: inputs } : { headers });
          const what = `${n} × ${path} by ${method}`;
          // A URL beyond Node's header limit is refused by the HTTP parser itself (431, no body).
          if (method === 'GET' && answer.status === 431) continue;
          const [error] = expectTyped(answer, what);
          expect(answer.status, what).toBe(400);
          expect(error, what).toMatchObject({ code: 'BAD_REQUEST' });
        }
      }
    }
    // Exactly at the limit: a batch of queries is answered.
    const at = await send('GET', `/api/trpc/${Array.from({ length: MAX_BATCH_CALLS }, () => 'system.health').join(',')}?batch=1`);
    expect(at.status).toBe(200);
    expect(expectTyped(at, 'at the limit')).toHaveLength(MAX_BATCH_CALLS);
  });

  it('a URL beyond the header limit, a GET with a body-size input, HEAD/PUT/DELETE: a 4xx, never a 5xx or a hang', async () => {
    const long = await send('GET', `/api/trpc/context.get?input=${encodeURIComponent(JSON.stringify({ json: { contextId: 'x'.repeat(70_000) } }))}`, { headers: authHeaders() });
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`${url}/api/trpc/context.create`, {
        method,
        headers: { 'content-type': 'application/json', ...authHeaders() },
        body: method === 'DELETE' || method === 'OPTIONS' ? undefined : '{"json":{}}',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      expect(response.status, `${method}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${method}: ${text.slice(0, 200)}`).toBeLessThan(500);
    }
  });

  it('lone surrogates and NUL in every text field of the writing procedures: BAD_REQUEST / INVALID_INPUT', async () => {
    for (const bad of ['a\ud800', '\udc00b', 'x\u0000y', '\ud83d']) {
      const cases: [string, unknown][] = [
        ['context.create', { title: bad }],
        ['context.create', { systemPrompt: bad }],
        ['context.update', { contextId: own.contextId, title: bad }],
        ['context.update', { contextId: own.contextId, systemPrompt: bad }],
        ['chat.sendMessage', { contextId: own.contextId, content: `hello ${bad}` }],
        ['chat.sendMessage', { contextId: own.contextId, content: 'hello', clientMessageId: bad }],
        ['chat.sendMessage', { contextId: own.contextId, content: 'hello', idempotencyKey: bad }],
        ['apiToken.create', { name: bad }],
        ['chat.approveTools', { contextId: own.contextId, runId: own.runId, decisions: [{ toolCallId: 'x', approve: false, reason: bad }] }],
      ];
      for (const [path, input] of cases) {
        const answer = await callWith(path, JSON.stringify(superjson.serialize(input)), authHeaders(), 'POST');
        const what = `${path} ${JSON.stringify(input)}`;
        expect(expectTyped(answer, what)[0], what).toMatchObject({ code: 'BAD_REQUEST', appCode: 'INVALID_INPUT' });
      }
    }
  });

  it('the auth routes (sign-in, get-session, sign-out) with hostile bodies and cookies: never a 5xx or a hang, and no session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ email: fc.oneof(hostileString, fc.constant('nobody@example.com'), hostileValue), password: fc.oneof(hostileString, hostileValue) }, { requiredKeys: [] }),
          hostileValue,
        ),
        encodingArbitrary,
        fc.oneof(hostileString.map((v) => `better-auth.session_token=${cookieSafe(v)}`), fc.constant('')),
        fc.constantFrom('sign-in/email', 'get-session', 'sign-out'),
        async (input, encoding, cookie, route) => {
          const text = encode(input, encoding);
          // better-auth takes plain JSON bodies: the envelope's "json" member, or the whole text (pollution keys and garbage meta included).
          const body = encoding.kind === 'superjson' || encoding.kind === 'json' ? jsonSafe(input ?? null) : text;
          const headers: Record<string, string> = { origin: url, ...(cookie ? { cookie } : {}) };
          const answer =
            route === 'get-session'
              ? await send('GET', `/api/auth/${route}`, { headers })
              : await send('POST', `/api/auth/${route}`, { headers: { ...headers, 'content-type': 'application/json' }, body });
          const what = `${route} ${body.slice(0, 200)} cookie ${cookie.slice(0, 80)}`;
          expect(answer.status, `${what}: ${answer.text.slice(0, 200)}`).toBeLessThan(500);
          if (route === 'sign-in/email') expect(answer.status, what).toBeGreaterThanOrEqual(400);
          if (route === 'get-session') expect(answer.body ?? null, what).toBeNull();
          expect(answer.text).not.toMatch(/at \S+ \(|prisma|postgres/i);
        },
      ),
      { numRuns: 30, endOnFailure: true },
    );
  });

  it('after all of it: the server answers, and the row count of every table is unchanged', async () => {
    const health = await send('GET', '/api/trpc/system.health');
    expect(health.status).toBe(200);
    expect(await tableCounts()).toEqual(baseline);
    // The fuzz user's context is as it was (no message, run or event was added to it).
    const state = await send('GET', `/api/trpc/context.state?input=${encodeURIComponent(JSON.stringify({ json: { contextId: own.contextId } }))}`, { headers: authHeaders() });
    expect(state.status).toBe(200);
  });
});
