import { createChatClient, type ChatClient, type RetryReason } from '@chat/client';
import type { RouterOutputs } from '@chat/api';
import { randomUUID } from 'node:crypto';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { subscribe } from '../support/subscribe.ts';
import { verifyReplay } from '../support/verify-replay.ts';
import { FIRST_PAGE } from '../../packages/api/src/router/context.ts';

/**
 * Load over real HTTP against a real server (issue 8): many clients writing to
 * one chat at once, many chats at once, many subscribers joining one
 * streaming reply. A lost race between writers is the server's problem: every
 * send is answered (SERVICE_BUSY is retried by the typed client with the same
 * idempotency key), every accepted message gets exactly one complete reply,
 * in FIFO order, and every reader sees the same transcript.
 *
 * Each test prints one `load:` line with its counts, so a failure shows what
 * happened, not only the first assertion that broke.
 */

type Message = RouterOutputs['context']['messages']['items'][number];
type Run = RouterOutputs['run']['list'][number];
type Event = RouterOutputs['events']['list']['events'][number];
type Sent = RouterOutputs['chat']['sendMessage'];

/** Limits the load raises (DESIGN §13); variables the server does not (yet) read are ignored. */
const LOAD_ENV = {
  LOCAL_MODEL_TOKEN_DELAY_MS: '0',
  MAX_CONCURRENT_RUNS: '64',
  MAX_RUNS_PER_USER: '64',
  RATE_LIMIT_ACTIONS_PER_MIN: '1000000',
};

const retries: Record<RetryReason, number> = { service_busy: 0, network: 0 };
/** Why network retries happened (the fetch error's cause), for the summary line. */
const networkCauses: Record<string, number> = {};
const resetRetries = () => {
  retries.service_busy = retries.network = 0;
  for (const key of Object.keys(networkCauses)) delete networkCauses[key];
};
const clientFor = (server: TestServer, ownerId: string): ChatClient =>
  createChatClient({
    url: server.url,
    headers: async () => ({ authorization: `Bearer ${await server.token(ownerId)}` }),
    EventSource: EventSource as never,
    batch: false,
    // Patient clients: 1,000 sending at once wait their turn (the server queues an action up to
    // ACTION_QUEUE_WAIT_MS before it answers SERVICE_BUSY). The defaults (8 attempts, 30 s) suit an
    // interactive client; here the test's own time budget is the limit.
    retry: {
      attempts: 30,
      budgetMs: 150_000,
      onRetry: ({ reason, error }) => {
        retries[reason]++;
        if (reason === 'network') {
          const cause = (error.cause as { cause?: { code?: string; message?: string }; message?: string } | undefined) ?? {};
          const why = cause.cause?.code ?? cause.cause?.message ?? cause.message ?? 'unknown';
          networkCauses[why] = (networkCauses[why] ?? 0) + 1;
        }
      },
    },
  });


const textOf = (m: Pick<Message, 'parts'>) => (m.parts as { type: string; text?: string }[]).map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');

interface Outgoing {
  content: string;
  clientMessageId: string;
  idempotencyKey: string;
}

/** One send's outcome: the answer, or the error's code/appCode. */
type Outcome = { ok: true; sent: Sent; ms: number } | { ok: false; error: string; ms: number };

async function send(client: ChatClient, contextId: string, out: Outgoing): Promise<Outcome> {
  const started = Date.now();
  try {
    const sent = await client.chat.sendMessage.mutate({ contextId, ...out });
    return { ok: true, sent, ms: Date.now() - started };
  } catch (error) {
    const e = error as { data?: { code?: string; appCode?: string }; message: string };
    return { ok: false, error: `${e.data?.code ?? 'NO_ANSWER'}/${e.data?.appCode ?? e.message}`, ms: Date.now() - started };
  }
}

/** `clients` clients (each its own typed client) each sending `perClient` messages at once. */
function sendAll(server: TestServer, ownerId: string, contextId: string, clients: number, perClient: number) {
  const outgoing: Outgoing[] = [];
  const work: Promise<Outcome>[] = [];
  for (let c = 0; c < clients; c++) {
    const client = clientFor(server, ownerId);
    for (let i = 0; i < perClient; i++) {
      const out = { content: `client ${c} message ${i}`, clientMessageId: randomUUID(), idempotencyKey: randomUUID() };
      outgoing.push(out);
      work.push(send(client, contextId, out));
    }
  }
  return { outgoing, work };
}

async function allMessages(client: ChatClient, contextId: string, pageSize: number) {
  const pages: Message[][] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await client.context.messages.query({ contextId, limit: pageSize, ...(cursor !== undefined ? { cursor } : {}) });
    pages.unshift(page.items);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return pages.flat();
}

async function allEvents(client: ChatClient, contextId: string) {
  const events: Event[] = [];
  for (;;) {
    const page = await client.events.list.query({ contextId, afterSeq: events.at(-1)?.seq ?? 0, limit: 1000 });
    events.push(...page.events);
    if (page.events.length < 1000) return events;
  }
}

/** The outcomes known by `until`: a send still unanswered then counts as `NO_ANSWER_IN_TIME`. */
async function settleBy(work: Promise<Outcome>[], until: number): Promise<Outcome[]> {
  const done: (Outcome | undefined)[] = work.map(() => undefined);
  const all = Promise.all(work.map((p, i) => p.then((o) => (done[i] = o))));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
  clearTimeout(timer);
  return done.map((o) => o ?? { ok: false, error: 'NO_ANSWER_IN_TIME', ms: NaN });
}

/** Runs `fn` over `items`, `limit` at a time, keeping the order of the results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

const tally = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ((acc[v] = (acc[v] ?? 0) + 1), acc), {});

/**
 * Everything the issue promises about one chat after a burst of sends, as one
 * object (compared whole, so a failure shows every count at once).
 */
async function audit(databaseUrl: string, client: ChatClient, contextId: string, outgoing: Outgoing[], outcomes: Outcome[]) {
  const n = outgoing.length;
  const problems: string[] = [];

  // Stored once: per clientMessageId, straight from the table.
  const stored = await sql<{ clientMessageId: string; n: number }>(
    databaseUrl,
    `SELECT "clientMessageId", count(*)::int AS n FROM "Message" WHERE "contextId" = $1 AND role = 'user' GROUP BY "clientMessageId"`,
    [contextId],
  );
  const storedIds = new Map(stored.map((r) => [r.clientMessageId, r.n]));
  const storedTwice = stored.filter((r) => r.n > 1).length;
  const notStored = outgoing.filter((o) => !storedIds.has(o.clientMessageId)).length;
  const runRows = await sql<{ status: string; error: string | null }>(databaseUrl, `SELECT status, error FROM "Run" WHERE "contextId" = $1`, [contextId]);

  // What the readers say.
  const state = await client.context.state.query({ contextId });
  const transcript = await allMessages(client, contextId, 100);
  const detail = await client.context.get.query({ contextId });
  const runs: Run[] = await client.run.list.query({ contextId, limit: 200 });
  const events = await allEvents(client, contextId);

  const users = transcript.filter((m) => m.role === 'user');
  const byId = new Map(transcript.map((m) => [m.id, m]));
  const answers = new Map(outcomes.flatMap((o, i) => (o.ok ? [[outgoing[i]!.clientMessageId, o.sent] as const] : [])));
  for (const [i, out] of outgoing.entries()) {
    const answer = answers.get(out.clientMessageId);
    const message = users.find((m) => m.clientMessageId === out.clientMessageId);
    if (answer && message && answer.message.id !== message.id) problems.push(`send ${i} answered message ${answer.message.id}, stored ${message.id}`);
    if (answer && message && textOf(message) !== out.content) problems.push(`send ${i} stored as ${JSON.stringify(textOf(message))}`);
  }

  // Each run: completed, with one complete reply that answers its own question.
  let badReplies = 0;
  const examples: string[] = [];
  for (const run of runs) {
    const question = byId.get(run.triggerMessageId);
    const replies = transcript.filter((m) => m.role === 'assistant' && m.runId === run.id);
    const reply = replies[0];
    const ok =
      question &&
      replies.length === 1 &&
      reply!.id === run.responseMessageId &&
      reply!.status === 'complete' &&
      textOf(reply!).startsWith(`You said: "${textOf(question)}"`);
    if (!ok) {
      badReplies++;
      if (examples.length < 3)
        examples.push(`run ${run.id} (${run.status}${run.error ? `: ${run.error.code}` : ''}): ${replies.map((r) => `${r.status} ${JSON.stringify(textOf(r).slice(0, 60))}`).join(', ') || 'no reply'}`);
    }
  }

  // FIFO: runs start and complete in the order their messages were accepted; never two at once.
  const seqOfRun = new Map(runs.map((r) => [r.id, byId.get(r.triggerMessageId)?.seq ?? -1]));
  const bySeq = [...runs].sort((a, b) => seqOfRun.get(a.id)! - seqOfRun.get(b.id)!).map((r) => r.id);
  const started = events.filter((e) => e.type === 'run.started').map((e) => (e.payload as { runId: string }).runId);
  const completed = events.filter((e) => e.type === 'run.completed').map((e) => (e.payload as { runId: string }).runId);
  let active: string | null = null;
  let overlaps = 0;
  for (const e of events) {
    const runId = (e.payload as { runId?: string }).runId;
    if (e.type === 'run.started') {
      if (active && active !== runId) overlaps++;
      active = runId ?? null;
    }
    if (['run.completed', 'run.failed', 'run.cancelled', 'run.interrupted'].includes(e.type) && runId === active) active = null;
  }

  // Every reader agrees.
  const ids = (ms: { id: string; status: string }[]) => ms.map((m) => `${m.id}:${m.status}`);
  if (JSON.stringify(ids(detail.messages)) !== JSON.stringify(ids(transcript.slice(-detail.messages.length)))) problems.push('context.get messages differ from the paged transcript');
  if (detail.messages.length !== Math.min(transcript.length, FIRST_PAGE)) problems.push(`context.get has ${detail.messages.length} messages of ${transcript.length}`);
  if (detail.latestRun?.id !== runs[0]?.id) problems.push('context.get latestRun is not run.list[0]');
  if (detail.state.state.type !== state.state.type) problems.push('context.get state differs from context.state');
  const transcriptRuns = new Set(transcript.flatMap((m) => (m.role === 'assistant' && m.runId ? [m.runId] : [])));
  if (transcriptRuns.size !== runs.length || runs.some((r) => !transcriptRuns.has(r.id))) problems.push('run.list and the transcript name different runs');
  const answeredRuns = new Set([...answers.values()].map((a) => a.run.id));
  if (runs.some((r) => !answeredRuns.has(r.id)) || answeredRuns.size !== runs.length) problems.push('run.list and the send answers name different runs');
  const seqs = transcript.map((m) => m.seq);
  if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1]!)) problems.push('the transcript is not in seq order');

  return {
    sendFailures: tally(outcomes.flatMap((o) => (o.ok ? [] : [o.error]))),
    storedUserMessages: stored.reduce((s, r) => s + r.n, 0),
    storedTwice,
    notStored,
    runsStored: tally(runRows.map((r) => r.status)),
    runErrors: [...new Set(runRows.flatMap((r) => (r.error ? [r.error] : [])))].slice(0, 3),
    runsListed: runs.length,
    usersInTranscript: users.length,
    badReplies,
    examples,
    fifoStarted: JSON.stringify(started) === JSON.stringify(bySeq),
    fifoCompleted: JSON.stringify(completed) === JSON.stringify(bySeq),
    overlaps,
    state: `${state.state.type}, queue ${state.queue.length}`,
    problems: problems.slice(0, 5),
    expected: n,
  };
}

const clean = (n: number) => ({
  sendFailures: {},
  storedUserMessages: n,
  storedTwice: 0,
  notStored: 0,
  runsStored: { completed: n },
  runErrors: [],
  runsListed: n,
  usersInTranscript: n,
  badReplies: 0,
  examples: [],
  fifoStarted: true,
  fifoCompleted: true,
  overlaps: 0,
  state: 'Idle, queue 0',
  problems: [],
  expected: n,
});

const unsettledRuns = (databaseUrl: string) =>
  sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "Run" WHERE status IN ('pending', 'processing', 'awaiting_approval')`).then((r) => r[0]!.n);

const latency = (outcomes: Outcome[]) => {
  const ms = outcomes.map((o) => o.ms).filter(Number.isFinite).sort((a, b) => a - b);
  return `send p50 ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms`;
};

describe('load: many writers', () => {
  let databaseUrl: string;
  let server: TestServer;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServer({ databaseUrl, env: LOAD_ENV });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('20 clients x 10 sends to one chat: every send answered, stored once, 200 complete replies, FIFO, readers agree, replay clean', { timeout: 180_000 }, async () => {
    const owner = 'load-one-chat';
    const { context } = await clientFor(server, owner).context.create.mutate({ idempotencyKey: randomUUID() });
    const started = Date.now();
    resetRetries();
    const { outgoing, work } = sendAll(server, owner, context.id, 20, 10);
    // Budgeted waits (inside the test's timeout), so a slow or stuck product still prints its counts.
    const answered = await settleBy(work, started + 90_000);
    const sentMs = Date.now() - started;
    const settled = await waitIdle(clientFor(server, owner), context.id, Math.max(1_000, started + 140_000 - Date.now())).then(
      () => 'idle',
      (error: Error) => error.message,
    );
    const result = await audit(databaseUrl, clientFor(server, owner), context.id, outgoing, answered);
    console.log(
      `load: 20x10 one chat: sends ${sentMs} ms (${latency(answered)}), idle after ${Date.now() - started} ms (${settled}); retries ${JSON.stringify(retries)} ${JSON.stringify(networkCauses)}; ${JSON.stringify(result)}`,
    );
    expect(result).toEqual(clean(200));
    const replay = await verifyReplay(databaseUrl);
    expect(replay.output).toMatch(/verify-replay: \d+ contexts checked, 0 differ/);
    expect(replay.code).toBe(0);
  });

  it('50 chats x 20 clients x 2 sends (1,000 clients, 2,000 sends at once): per chat the same guarantees', { timeout: 240_000 }, async () => {
    const chats = await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        const owner = `load-many-${c}`;
        const { context } = await clientFor(server, owner).context.create.mutate({ idempotencyKey: randomUUID() });
        return { owner, contextId: context.id };
      }),
    );
    const started = Date.now();
    resetRetries();
    const bursts = chats.map((chat) => ({ ...chat, ...sendAll(server, chat.owner, chat.contextId, 20, 2) }));
    // Budgeted waits (inside the test's timeout), so a slow or stuck product still prints its counts.
    const flat = await settleBy(bursts.flatMap((b) => b.work), started + 150_000);
    const answered = bursts.map((_, i) => flat.slice(i * 40, (i + 1) * 40));
    const sentMs = Date.now() - started;
    // One cheap query for all 50 chats (polling 50 states would load the server under test), then each chat's own state.
    const settled = await waitFor(async () => (await unsettledRuns(databaseUrl)) === 0, {
      timeoutMs: Math.max(1_000, started + 190_000 - Date.now()),
      intervalMs: 250,
      what: 'every run to finish',
    }).then(
      () => 'settled',
      (error: Error) => error.message,
    );
    const settledMs = Date.now() - started;
    const results = await mapLimit(bursts, 5, (b, i) => audit(databaseUrl, clientFor(server, b.owner), b.contextId, b.outgoing, answered[i]!));
    const dirty = results.flatMap((r, i) => (JSON.stringify(r) === JSON.stringify(clean(40)) ? [] : [{ chat: i, ...r }]));
    const all = flat;
    console.log(
      `load: 50x20x2: sends ${sentMs} ms (${latency(all)}), runs done after ${settledMs} ms (${settled}, ${Math.round((2000 / settledMs) * 1000)} turns/s); ` +
        `retries ${JSON.stringify(retries)} ${JSON.stringify(networkCauses)}; send failures ${JSON.stringify(tally(all.flatMap((o) => (o.ok ? [] : [o.error]))))}; ` +
        `${dirty.length} of 50 chats not clean; over all chats: runs ${JSON.stringify(tally(results.flatMap((r) => Object.entries(r.runsStored).flatMap(([k, v]) => Array<string>(v).fill(k)))))}, ` +
        `bad replies ${results.reduce((n, r) => n + r.badReplies, 0)}, stored twice ${results.reduce((n, r) => n + r.storedTwice, 0)}, not stored ${results.reduce((n, r) => n + r.notStored, 0)}, ` +
        `not FIFO ${results.filter((r) => !r.fifoStarted || !r.fifoCompleted).length}${dirty.length ? `; first: ${JSON.stringify(dirty[0])}` : ''}`,
    );
    expect(dirty).toEqual([]);
    const replay = await verifyReplay(databaseUrl);
    expect(replay.output).toMatch(/verify-replay: \d+ contexts checked, 0 differ/);
    expect(replay.code).toBe(0);
  });
});

describe('load: many readers', () => {
  let databaseUrl: string;
  let server: TestServer;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    server = await startServer({
      databaseUrl,
      env: {
        LOCAL_MODEL_TOKEN_DELAY_MS: '10',
        // Nothing time-driven writes while the reply streams, so its write count is exact and any
        // extra write is caused by the joins: no periodic checkpoint (the reply lasts ~4 s), no
        // lease renewal (every LEASE_MS / 3), no recovery sweep, poll or idempotency purge.
        CHECKPOINT_INTERVAL_MS: '600000',
        LEASE_MS: '600000',
        SWEEP_INTERVAL_MS: '600000',
        POLL_INTERVAL_MS: '600000',
        IDEMPOTENCY_PURGE_INTERVAL_MS: '600000',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('300 subscribers join a streaming reply: it completes, each ends with the full text once, and the joins cause no writes', { timeout: 180_000 }, async () => {
    const owner = 'load-readers';
    const client = clientFor(server, owner);
    const writes = async () => (await client.system.metrics.query()).writes;

    /** One `/long 400` reply (~4 s at 10 ms a word), with `join` subscribers opened once it streams. */
    const reply = async (join: number) => {
      const { context } = await client.context.create.mutate({ idempotencyKey: randomUUID() });
      const before = await writes();
      const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'stream to many /long 400', idempotencyKey: randomUUID(), clientMessageId: randomUUID() });
      // Streaming: the reply's row exists (read beside the server, so it is not counted).
      const replyId = await waitFor(async () => {
        const [row] = await sql<{ id: string }>(databaseUrl, `SELECT id FROM "Message" WHERE "runId" = $1 AND role = 'assistant' AND status = 'streaming'`, [sent.run.id]);
        return row?.id;
      }, { what: 'the reply to stream' });
      const { lastEventSeq } = await client.context.state.query({ contextId: context.id });
      const joinedAt = Date.now();
      const subscribers = Array.from({ length: join }, () => subscribe(clientFor(server, owner), context.id, String(lastEventSeq)));
      // Soft waits: what did not happen shows in the summary below, with the rest of the counts.
      await waitFor(async () => subscribers.every((s) => s.started) && 'yes', { timeoutMs: 60_000, what: 'every subscriber to start' }).catch(() => {});
      const joinMs = Date.now() - joinedAt;
      await waitIdle(client, context.id, 30_000).catch(() => {});
      const [run] = await client.run.list.query({ contextId: context.id, limit: 1 });
      const { messages } = await client.context.get.query({ contextId: context.id });
      const text = textOf(messages.find((m) => m.id === replyId)!);
      const done = (s: ReturnType<typeof subscribe>) => s.events().some((e) => e.type === 'message.completed' && e.payload.messageId === replyId);
      await waitFor(async () => subscribers.every(done) && 'yes', { timeoutMs: 30_000, what: 'every subscriber to see the reply complete' }).catch(() => {});
      const after = await writes();
      // The events this reply's saves wrote (every save writes at least one; a checkpoint writes `message.checkpointed`).
      const events = tally((await allEvents(client, context.id)).filter((e) => e.seq > lastEventSeq).map((e) => e.type));
      const summary = {
        run: `${run?.status}${run?.error ? `: ${run.error.code}` : ''}`,
        replyWords: text.split(/\s+/).length,
        subscribersComplete: subscribers.filter(done).length,
        subscribersWithFullText: subscribers.filter((s) => s.texts.get(replyId) === text).length,
        subscribersCompletedTwice: subscribers.filter((s) => s.events().filter((e) => e.type === 'message.completed').length > 1).length,
        anomalies: [...new Set(subscribers.flatMap((s) => s.anomalies))].slice(0, 3),
        started: subscribers.filter((s) => s.started).length,
        errors: subscribers.reduce((n, s) => n + s.errors.length, 0),
        errorExamples: [...new Set(subscribers.flatMap((s) => s.errors.map((e) => String((e as Error).message))))].slice(0, 3),
        joinedWhileStreaming: subscribers.filter((s) => s.items.some((i) => i.data.kind === 'ephemeral' && i.data.type === 'message.snapshot')).length,
        subscribersWithDeltas: subscribers.filter((s) => s.deltas().some((d) => d.payload.messageId === replyId)).length,
        // Joined mid-stream but had none of the reply live (an empty snapshot and no delta after it):
        // it sees nothing until the next checkpoint, here the completion (the snapshot is the last
        // checkpoint's text, and CHECKPOINT_INTERVAL_MS is set beyond the reply). Reported, not asserted.
        joinedBlind: subscribers.filter((s) => {
          const snapshot = s.items.find((i) => i.data.kind === 'ephemeral' && i.data.type === 'message.snapshot' && i.data.payload.messageId === replyId);
          const snapshotText = snapshot?.data.kind === 'ephemeral' && snapshot.data.type === 'message.snapshot' ? snapshot.data.payload.text : '';
          return snapshot && snapshotText === '' && !s.deltas().some((d) => d.payload.messageId === replyId);
        }).length,
        subscriberWords: [...new Set(subscribers.map((s) => (s.texts.get(replyId) ?? '').split(/\s+/).length))].sort((x, y) => x - y).slice(0, 5),
        joinMs,
      };
      for (const s of subscribers) s.close();
      return { writes: after - before, events, summary };
    };

    const baseline = await reply(0);
    const joined = await reply(300);
    console.log(
      `load: 300 joins: writes ${joined.writes} (without joins ${baseline.writes}); events ${JSON.stringify(joined.events)} (without joins ${JSON.stringify(baseline.events)}); ${JSON.stringify(joined.summary)}`,
    );
    if (joined.summary.run !== 'completed') console.log(`server output:\n${server.output().slice(-3000)}`);
    // The counter must see the reply's own writes, or "no extra writes" would prove nothing.
    expect(baseline.writes, 'system.metrics counted no write statement for a whole reply (a save it does not classify as a write?)').toBeGreaterThan(0);
    expect(baseline.summary.run).toBe('completed');
    expect(joined.summary).toMatchObject({
      run: 'completed',
      subscribersComplete: 300,
      subscribersWithFullText: 300,
      subscribersCompletedTwice: 0,
      anomalies: [],
      started: 300,
      errors: 0,
    });
    expect(joined.summary.replyWords).toBeGreaterThanOrEqual(400);
    // The joins met the reply while it streamed (their snapshot), not after it: at least 2 in 3 of
    // them (all 300 when joins are as fast as they should be; the margin is for a loaded CI machine).
    expect(joined.summary.joinedWhileStreaming).toBeGreaterThanOrEqual(200);
    expect(joined.events).toEqual(baseline.events);
    // The bound is 0: with no time-driven writes configured above, both replies write the same
    // statements (accept, start, complete); a join that writes anything (a forced checkpoint) shows.
    expect(joined.writes).toBe(baseline.writes);
  });
});
