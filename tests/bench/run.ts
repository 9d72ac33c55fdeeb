// `npm run bench`: measured, not assumed. Every product number is printed
// beside a baseline measured in the same run on the same database: the raw-pg
// pipeline of tests/bench/raw-pipeline.ts (the physical limit of this design)
// or the local model's own first token. Ends with a markdown table.
//
// Knobs (env): BENCH_TURNS_PER_CHAT (60: turns per chat at 1 chat; N chats get
// max(3, ceil(T*10/(N+9))), i.e. 32 at 10 and 11 at 50), BENCH_WARMUP_TURNS (200 per server), BENCH_CHATS ("1,10,50"),
// BENCH_SEQUENTIAL_TURNS (30: statements and CPU per turn), BENCH_SUBSCRIBERS
// (200: fan-out), BENCH_LONG_TOKENS (2000) at BENCH_LONG_DELAY_MS (1),
// BENCH_SKIP (phases to skip, comma-separated: raw, inproc, fanout, long, one, two), BENCH_VERBOSE=1 (SQL of one
// turn), BENCH_TIMEOUT_MS (600000: the whole bench is killed after it).
import { createApiServer, loadConfig, startServices, type Services, type StreamItem } from '@chat/api';
import { createChatClient, type ChatClient } from '@chat/client';
import { migrateDeploy, startEmbeddedPostgres } from '@chat/db';
import { streamText } from 'ai';
import { EventSource } from 'eventsource';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLocalModel } from '../../packages/api/src/models/local-model.ts';
import { EPHEMERAL_CHANNEL, EVENTS_CHANNEL } from '../../packages/db/src/notifications.ts';
import { guestSession, tokenFor } from '../support/identity.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { startRawPipeline, WRITE_SQL } from './raw-pipeline.ts';
import { SERVER_ENV, sleep, withTimeout } from './common.ts';

const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  return Number.isFinite(v) && v >= 0 ? v : def;
};
const TURNS_AT_ONE = num('BENCH_TURNS_PER_CHAT', 60);
const CHAT_LEVELS = (process.env.BENCH_CHATS ?? '1,10,50').split(',').map(Number).filter((n) => n > 0);
const turnsFor = (chats: number) => Math.max(3, Math.ceil((TURNS_AT_ONE * 10) / (chats + 9)));
const SEQ_TURNS = Math.max(3, num('BENCH_SEQUENTIAL_TURNS', 30));
const SUBSCRIBERS = num('BENCH_SUBSCRIBERS', 200);
const FANOUT_ROUNDS = 20;
const LONG_TOKENS = num('BENCH_LONG_TOKENS', 2000);
const LONG_DELAY_MS = num('BENCH_LONG_DELAY_MS', 1);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const BENCH_TIMEOUT_MS = num('BENCH_TIMEOUT_MS', 600_000);
const TURN_TIMEOUT_MS = 30_000;
// Per server: its first turns run cold code (tsx compiles on first import, V8 optimises after
// some hundreds of calls); 15 warm-up turns left the 1-chat CPU figure at about twice the steady state.
const WARMUP_TURNS = num('BENCH_WARMUP_TURNS', 200);
const MAX_CONCURRENT_RUNS = 64;
const POOL_MAX = 20; // the raw pipeline's pool: the product's DB_POOL_MAX

// ---------------------------------------------------------------- helpers

function percentile(xs: number[], p: number) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const f = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits));
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || !b || Number.isNaN(a) || Number.isNaN(b) ? 'n/a' : `${(a / b).toFixed(2)}x`;
function log(msg: string) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

// CPU from /proc (Linux): a child's own time, and PostgreSQL's (the postmaster, its reaped children, its live children).
let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {}
function procStat(pid: number) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i]);
    return { comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), ppid: n(1), self: n(11) + n(12), children: n(13) + n(14) };
  } catch {
    return null;
  }
}
/** CPU ms the process used so far (all its threads). */
function processCpuMs(pid: number): number | null {
  const s = procStat(pid);
  return s ? (s.self * 1000) / clockTicks : null;
}
function findPostmaster(dataDir: string | null): number | null {
  if (!dataDir) return null;
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (procStat(pid)) return pid;
  }
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dataDir) && procStat(Number(entry))?.comm === 'postgres') return Number(entry);
    } catch {}
  }
  return null;
}
function postgresCpuMs(postmaster: number | null): number | null {
  if (postmaster === null) return null;
  const pm = procStat(postmaster);
  if (!pm) return null;
  let ticks = pm.self + pm.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = procStat(Number(entry));
    if (s && s.ppid === postmaster) ticks += s.self;
  }
  return (ticks * 1000) / clockTicks;
}
/**
 * The next transaction id of the database: it advances once per transaction that wrote (or sent a
 * NOTIFY), however the transaction was started (BEGIN or a single autocommit statement); reading it
 * assigns none.
 */
let xidClient: pg.Client | null = null;
async function xids(): Promise<number | null> {
  if (!xidClient) return null;
  const { rows } = await xidClient.query(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x`);
  return Number((rows[0] as { x: string }).x);
}

const benchCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ---------------------------------------------------------------- load driver

interface TurnSample {
  latencyMs: number;
  /** sendMessage's round trip (the accept). */
  acceptMs?: number;
  firstTokenMs?: number;
}
interface Chat {
  turn(content: string): Promise<TurnSample>;
  close(): void;
}
interface LoadResult {
  chats: number;
  turns: number;
  wallMs: number;
  latencies: number[];
  accepts: number[];
  firstTokens: number[];
  errors: number;
  /** CPU ms per completed turn of this (the client's) process. */
  clientCpuPerTurn: number;
  firstError?: string;
  /** CPU ms per completed turn of the measured processes (server children or, for raw, this process). */
  cpuPerTurn: number | null;
  pgCpuPerTurn: number | null;
  /** Write transactions (transaction ids assigned in the whole database) per completed turn. */
  xactsPerTurn: number | null;
}

/** Every chat sends its next message when its previous turn completed, `turns` times. */
async function runLoad(chats: Chat[], turns: number, cpu: () => number | null, pgCpu: () => number | null): Promise<LoadResult> {
  const x0 = await xids();
  const latencies: number[] = [];
  const accepts: number[] = [];
  const firstTokens: number[] = [];
  let errors = 0;
  const client0 = benchCpuMs();
  let firstError: string | undefined;
  const cpu0 = cpu();
  const pg0 = pgCpu();
  const started = performance.now();
  await Promise.all(
    chats.map(async (chat, c) => {
      for (let i = 0; i < turns; i++) {
        try {
          const s = await chat.turn(`chat ${c} turn ${i}`);
          latencies.push(s.latencyMs);
          if (s.firstTokenMs !== undefined) firstTokens.push(s.firstTokenMs);
          if (s.acceptMs !== undefined) accepts.push(s.acceptMs);
        } catch (error) {
          errors++;
          firstError ??= String((error as Error).message ?? error).slice(0, 200);
          if (String(error).includes('timed out')) return; // the chat is stuck: stop it, keep the rest
        }
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpu1 = cpu();
  const pg1 = pgCpu();
  const x1 = await xids();
  const clientCpu = benchCpuMs() - client0;
  const done = latencies.length;
  return {
    chats: chats.length,
    turns: done,
    wallMs,
    latencies,
    accepts,
    firstTokens,
    errors,
    clientCpuPerTurn: done ? clientCpu / done : NaN,
    ...(firstError ? { firstError } : {}),
    cpuPerTurn: cpu0 !== null && cpu1 !== null && done ? (cpu1 - cpu0) / done : null,
    pgCpuPerTurn: pg0 !== null && pg1 !== null && done ? (pg1 - pg0) / done : null,
    xactsPerTurn: x0 !== null && x1 !== null && done ? (x1 - x0) / done : null,
  };
}
const turnsPerSecond = (r: LoadResult) => (r.turns / r.wallMs) * 1000;

/** A product chat: one context, one subscription; a turn is sendMessage until its run.completed arrives. */
async function openChat(client: ChatClient, opts: { idempotencyKeys?: boolean } = {}): Promise<Chat> {
  const { context } = await client.context.create.mutate({ title: 'bench' });
  const waiters = new Map<string, (outcome: string) => void>();
  const ended = new Map<string, string>(); // a fast run can end before sendMessage's response arrives
  // One turn in flight per chat: its first token is the first text of a reply message not seen complete before.
  const userMessages = new Set<string>();
  const doneMessages = new Set<string>();
  let turnStart: number | null = null;
  let turnFirstToken: number | null = null;
  const mark = (messageId: string) => {
    if (turnStart !== null && turnFirstToken === null && !userMessages.has(messageId) && !doneMessages.has(messageId)) {
      turnFirstToken = performance.now();
    }
  };
  let onStarted!: () => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const sub = client.events.onContext.subscribe(
    { contextId: context.id, lastEventId: String(context.lastEventSeq) },
    {
      onStarted: () => onStarted(),
      onData: ({ data }: { data: StreamItem }) => {
        if (data.kind === 'event') {
          if (data.type === 'message.created') {
            if (data.payload.message.role === 'user') userMessages.add(data.payload.message.id);
          } else if (data.type === 'message.checkpointed') {
            mark(data.payload.messageId);
          } else if (data.type === 'message.completed') {
            mark(data.payload.messageId);
            doneMessages.add(data.payload.messageId);
          } else if (
            data.type === 'run.completed' ||
            data.type === 'run.failed' ||
            data.type === 'run.cancelled' ||
            data.type === 'run.interrupted'
          ) {
            ended.set(data.payload.runId, data.type);
            waiters.get(data.payload.runId)?.(data.type);
          }
        } else if (data.type === 'message.delta' || data.type === 'message.snapshot') {
          mark(data.payload.messageId);
        }
      },
      onError: () => {},
    } as never,
  );
  await withTimeout(started, 30_000, 'subscription start');
  return {
    async turn(content) {
      const t0 = performance.now();
      turnStart = t0;
      turnFirstToken = null;
      try {
        const sent = await withTimeout(
          client.chat.sendMessage.mutate({
            contextId: context.id,
            content,
            ...(opts.idempotencyKeys ? { idempotencyKey: randomUUID() } : {}),
          }),
          TURN_TIMEOUT_MS,
          'sendMessage',
        );
        const acceptMs = performance.now() - t0;
        const runId = sent.run.id;
        const outcome =
          ended.get(runId) ??
          (await withTimeout(new Promise<string>((r) => waiters.set(runId, r)), TURN_TIMEOUT_MS, `run ${runId}`).finally(() =>
            waiters.delete(runId),
          ));
        const latencyMs = performance.now() - t0;
        ended.delete(runId);
        if (outcome !== 'run.completed') throw new Error(`run ended ${outcome}`);
        const ft: number | null = turnFirstToken;
        return { latencyMs, acceptMs, ...(ft !== null ? { firstTokenMs: ft - t0 } : {}) };
      } finally {
        turnStart = null;
      }
    },
    close: () => sub.unsubscribe(),
  };
}

/** One user per name and server (a guest account and an API token, made on first use). */
const userTokens = new Map<string, Promise<string>>();
const newClient = (url: string, name: string) => {
  const key = `${url}\n${name}`;
  if (!userTokens.has(key)) userTokens.set(key, guestSession(url).then((cookie) => tokenFor(url, cookie, name)));
  return createChatClient({ url, headers: async () => ({ authorization: `Bearer ${await userTokens.get(key)}` }), EventSource: EventSource as never, batch: false });
};

// ---------------------------------------------------------------- phases

interface InProcess {
  services: Services;
  server: Server;
  url: string;
  stop(): Promise<void>;
}
async function startInProcess(databaseUrl: string, env: Record<string, string>): Promise<InProcess> {
  const config = loadConfig({ ...process.env, ...SERVER_ENV, ...env, DATABASE_URL: databaseUrl, PORT: '0' });
  const services = await startServices(config, { migrate: false });
  const server = createApiServer(services);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let stopping: Promise<void> | null = null;
  return {
    services,
    server,
    url,
    stop: () =>
      (stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await withTimeout(services.stop(), 20_000, 'services.stop').catch((e) => log(String(e)));
      })()),
  };
}

async function stopChild(s: TestServer) {
  await withTimeout(s.stop(), 15_000, 'server stop').catch(async () => {
    await s.kill('SIGKILL');
  });
}

async function modelFirstToken(n: number) {
  const model = createLocalModel({ tokenDelayMs: 0 });
  const sdk: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    const result = streamText({ model, messages: [{ role: 'user', content: `hello ${i}` }] });
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') {
        if (i >= 20) sdk.push(performance.now() - t0);
        break;
      }
    }
    const t1 = performance.now();
    const { stream } = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: `hello ${i}` }] }] } as LanguageModelV3CallOptions);
    const reader = stream.getReader();
    for (let k = 0; k < 10; k++) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === 'text-delta') {
        if (i >= 20) raw.push(performance.now() - t1);
        break;
      }
    }
    await reader.cancel().catch(() => {});
  }
  return { sdk, raw };
}

// ---------------------------------------------------------------- main

const cleanups: (() => Promise<void>)[] = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()!().catch((e) => console.error('cleanup:', e));
}

async function main() {
  const benchStarted = performance.now();
  const loadAtStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  let dataDir: string | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    const dir = dataDir;
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const db = await startEmbeddedPostgres({ dataDir });
    cleanups.push(db.stop);
    databaseUrl = db.url;
  }
  await migrateDeploy(databaseUrl);
  xidClient = new pg.Client({ connectionString: databaseUrl });
  await xidClient.connect();
  cleanups.push(async () => {
    await xidClient?.end();
    xidClient = null;
  });
  const postmaster = findPostmaster(dataDir);
  const pgCpu = () => postgresCpuMs(postmaster);
  log(`database ready (${dataDir ? 'embedded' : 'DATABASE_URL'}; PostgreSQL CPU ${postmaster ? 'measured' : 'not measured'}), ${os.cpus().length} cores`);

  // 1. The model's own first token.
  const model = await modelFirstToken(200);
  log(`model first token: streamText p50 ${f(percentile(model.sdk, 50), 2)} ms, doStream p50 ${f(percentile(model.raw, 50), 2)} ms`);

  // 2. The raw-pg pipeline at each level.
  const raw = new Map<number, LoadResult & { statements: number; transactions: number; writes: number }>();
  if (!SKIP.has('raw')) {
    const pipeline = await startRawPipeline(databaseUrl, { maxConcurrentRuns: MAX_CONCURRENT_RUNS, poolMax: POOL_MAX });
    cleanups.push(() => pipeline.stop());
    const rawChat = (id: string): Chat => ({
      async turn(content) {
        const t0 = performance.now();
        const { acceptMs } = await pipeline.turn(id, content, TURN_TIMEOUT_MS);
        return { latencyMs: performance.now() - t0, acceptMs };
      },
      close() {},
    });
    await runLoad((await pipeline.createChats(1)).map(rawChat), WARMUP_TURNS, () => null, () => null); // warm-up
    for (const n of CHAT_LEVELS) {
      const chats = (await pipeline.createChats(n)).map(rawChat);
      const c0 = pipeline.counts();
      const r = await runLoad(chats, turnsFor(n), benchCpuMs, pgCpu);
      const c1 = pipeline.counts();
      raw.set(n, {
        ...r,
        statements: (c1.statements - c0.statements) / r.turns,
        transactions: (c1.transactions - c0.transactions) / r.turns,
        writes: (c1.writes - c0.writes) / r.turns,
      });
      log(`raw pipeline, ${n} chats: ${f(turnsPerSecond(r))} turns/s, p50 ${f(percentile(r.latencies, 50))} ms, ${f(raw.get(n)!.statements)} statements and ${f(raw.get(n)!.transactions, 2)} transactions per turn, ${r.errors} errors`);
    }
    await cleanups.pop()!();
  }

  // 3. In-process server: statements, transactions and CPU per turn, clean save, fan-out.
  let perTurn: {
    statements: number[];
    begins: number[];
    xacts: number[];
    writes: number[];
    statementsKeyed: number[];
    roundTrips: number[];
    cpuInProcess: number;
    exampleSql: string[];
  } | null = null;
  let cleanSave: number | null = null;
  let fanout: { one: number[]; many: number[] } | null = null;
  if (!SKIP.has('inproc')) {
    const inproc = await startInProcess(databaseUrl, {});
    cleanups.push(() => inproc.stop());
    const { services } = inproc;
    const client = newClient(inproc.url, 'bench-inproc');
    const warm = await openChat(client);
    for (let i = 0; i < WARMUP_TURNS; i++) await warm.turn(`warm ${i}`);
    warm.close();

    const measureTurns = async (chat: Chat, n: number) => {
      const statements: number[] = [];
      const begins: number[] = [];
      const logs: string[][] = [];
      const xacts: number[] = [];
      const writes: number[] = [];
      const roundTrips: number[] = [];
      for (let i = 0; i < n; i++) {
        services.db.queryCount.reset();
        const before = services.db.statements().total;
        const x0 = await xids();
        await chat.turn(`turn ${i}`);
        statements.push(services.db.statements().total - before);
        const x1 = await xids();
        if (x0 !== null && x1 !== null) xacts.push(x1 - x0);
        const sql = [...services.db.queryCount.log];
        logs.push(sql);
        roundTrips.push(sql.length);
        begins.push(sql.filter((q) => /^\s*(BEGIN|START TRANSACTION)\b/i.test(q)).length);
        writes.push(sql.filter((q) => WRITE_SQL.test(q)).length);
      }
      return { statements, begins, xacts, writes, logs, roundTrips };
    };
    const chat = await openChat(client);
    await sleep(200);
    const cpu0 = benchCpuMs();
    const plain = await measureTurns(chat, SEQ_TURNS);
    const cpuInProcess = (benchCpuMs() - cpu0) / SEQ_TURNS;
    chat.close();
    const keyedChat = await openChat(client, { idempotencyKeys: true });
    const keyed = await measureTurns(keyedChat, Math.min(10, SEQ_TURNS));
    keyedChat.close();
    const medianStatements = percentile(plain.statements, 50);
    const exampleSql = plain.logs[plain.statements.indexOf(medianStatements)] ?? [];
    perTurn = { statements: plain.statements, begins: plain.begins, xacts: plain.xacts, writes: plain.writes, statementsKeyed: keyed.statements, roundTrips: plain.roundTrips, cpuInProcess, exampleSql };
    log(`in-process: ${medianStatements} statements, ${percentile(plain.begins, 50)} BEGINs, ${percentile(plain.xacts, 50)} write transactions per plain turn, ${f(cpuInProcess)} ms CPU (server + client)`);

    const { context } = await client.context.create.mutate({ title: 'clean save' });
    const aggregate = await services.repo.load(context.id);
    const beforeClean = services.db.statements().total;
    await services.repo.save(aggregate);
    cleanSave = services.db.statements().total - beforeClean;

    if (!SKIP.has('fanout')) {
      fanout = { one: await fanoutRun(inproc.url, client, 1), many: await fanoutRun(inproc.url, client, SUBSCRIBERS) };
      log(`fan-out p50: 1 subscriber ${f(percentile(fanout.one, 50))} ms, ${SUBSCRIBERS} subscribers ${f(percentile(fanout.many, 50))} ms`);
    }
    await cleanups.pop()!();
  }

  // 4. One long reply at a token delay: NOTIFYs (statements in the SQL log and notifications received) and writes.
  let long: {
    notifyStatements: number;
    received: number;
    receivedEphemeral: number;
    streamMs: number;
    totalMs: number;
    writes: number;
    xacts: number | null;
  } | null = null;
  if (!SKIP.has('long')) {
    const inproc = await startInProcess(databaseUrl, { LOCAL_MODEL_TOKEN_DELAY_MS: String(LONG_DELAY_MS) });
    cleanups.push(() => inproc.stop());
    const { services } = inproc;
    const client = newClient(inproc.url, 'bench-long');
    const { context } = await client.context.create.mutate({ title: 'long' });
    const listener = new pg.Client({ connectionString: databaseUrl });
    await listener.connect();
    cleanups.push(() => listener.end());
    let received = 0;
    let receivedEphemeral = 0;
    listener.on('notification', (msg) => {
      if (!(msg.payload ?? '').includes(context.id)) return;
      received++;
      if (msg.channel === EPHEMERAL_CHANNEL) receivedEphemeral++;
    });
    for (const channel of [EVENTS_CHANNEL, EPHEMERAL_CHANNEL]) await listener.query(`LISTEN ${channel}`);
    let firstDelta: number | null = null;
    let completedAt: number | null = null;
    let onDone!: () => void;
    const done = new Promise<void>((r) => (onDone = r));
    let onStarted!: () => void;
    const started = new Promise<void>((r) => (onStarted = r));
    const sub = client.events.onContext.subscribe(
      { contextId: context.id, lastEventId: String(context.lastEventSeq) },
      {
        onStarted: () => onStarted(),
        onData: ({ data }: { data: StreamItem }) => {
          if (data.kind === 'ephemeral' && data.type === 'message.delta') firstDelta ??= performance.now();
          if (data.kind === 'event' && (data.type === 'run.completed' || data.type === 'run.failed')) {
            completedAt = performance.now();
            onDone();
          }
        },
        onError: () => {},
      } as never,
    );
    await withTimeout(started, 30_000, 'subscription start');
    await sleep(200);
    received = 0;
    receivedEphemeral = 0;
    let notifyStatements = 0;
    let writeStatements = 0;
    const drain = () => {
      for (const q of services.db.queryCount.log) {
        if (/pg_notify/i.test(q)) notifyStatements++;
        if (WRITE_SQL.test(q)) writeStatements++;
      }
      services.db.queryCount.reset();
    };
    drain();
    notifyStatements = 0;
    writeStatements = 0;
    const drainer = setInterval(drain, 5);
    const x0 = await xids();
    const t0 = performance.now();
    await client.chat.sendMessage.mutate({ contextId: context.id, content: `/long ${LONG_TOKENS}` });
    await withTimeout(done, 120_000, 'long reply');
    await sleep(300); // late notifications of the last commit
    clearInterval(drainer);
    drain();
    sub.unsubscribe();
    long = {
      notifyStatements,
      received,
      receivedEphemeral,
      streamMs: (completedAt ?? performance.now()) - (firstDelta ?? t0),
      totalMs: (completedAt ?? performance.now()) - t0,
      writes: writeStatements,
      xacts: await xids().then((x1) => (x0 !== null && x1 !== null ? x1 - x0 : null)),
    };
    log(`long reply: ${notifyStatements} pg_notify statements, ${received} notifications received, ${f(long.streamMs)} ms streaming, ${long.writes} writes`);
    await cleanups.pop()!(); // listener
    await cleanups.pop()!(); // server
  }

  // 5. Throughput over HTTP: one child server, then a second one beside it on the same database.
  const product = new Map<string, LoadResult>();
  if (!SKIP.has('one') || !SKIP.has('two')) {
    const servers: TestServer[] = [];
    const clients: ChatClient[] = [];
    const addServer = async () => {
      const i = servers.length;
      const s = await startServer({ databaseUrl, env: { ...SERVER_ENV, INSTANCE_ID: `bench-instance-${i}` } });
      servers.push(s);
      cleanups.push(() => stopChild(s));
      const client = newClient(s.url, `bench-instance-${i}`);
      clients.push(client);
      const warm = await openChat(client);
      for (let t = 0; t < WARMUP_TURNS; t++) await warm.turn(`warm ${t}`);
      warm.close();
    };
    const measure = async (instances: number) => {
      const pids = servers.slice(0, instances).map((s) => s.process.pid!);
      const serverCpu = () => {
        let total = 0;
        for (const pid of pids) {
          const v = processCpuMs(pid);
          if (v === null) return null;
          total += v;
        }
        return total;
      };
      const idle0 = serverCpu();
      await sleep(1000);
      const idle1 = serverCpu();
      log(`${instances} instance(s): idle server CPU ${idle0 !== null && idle1 !== null ? f(idle1 - idle0) : 'n/a'} ms/s`);
      for (const n of CHAT_LEVELS) {
        const chats = await Promise.all(Array.from({ length: n }, (_, i) => openChat(clients[i % instances]!)));
        await sleep(200);
        const r = await runLoad(chats, turnsFor(n), serverCpu, pgCpu);
        chats.forEach((c) => c.close());
        product.set(`${instances}:${n}`, r);
        log(
          `${instances} instance(s), ${n} chats: ${f(turnsPerSecond(r))} turns/s, p50 ${f(percentile(r.latencies, 50))} ms, ` +
            `first token p50 ${f(percentile(r.firstTokens, 50))} ms, server CPU ${f(r.cpuPerTurn)} ms/turn, client CPU ${f(r.clientCpuPerTurn)} ms/turn, ${r.errors} errors${r.firstError ? ` (${r.firstError})` : ''}`,
        );
        await sleep(300);
      }
    };
    await addServer();
    if (!SKIP.has('one')) await measure(1);
    if (!SKIP.has('two')) {
      await addServer();
      await measure(2);
    }
    while (servers.pop()) await cleanups.pop()!();
  }

  // ---------------------------------------------------------------- report
  const lines: string[] = [];
  lines.push(`Throughput over HTTP, local model at 0 ms/token; latency = sendMessage -> run.completed at a subscriber; raw = tests/bench/raw-pipeline.ts in the same run`);
  lines.push('');
  lines.push('| setup | chats | turns | turns/s | vs raw | p50 ms | p99 ms | accept p50 ms | first token p50 / p99 ms | server CPU ms/turn | PG CPU ms/turn | write tx/turn | errors |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const row = (name: string, n: number, r: LoadResult | undefined, cpuLabel = '') => {
    if (!r) return;
    const base = raw.get(n);
    lines.push(
      `| ${name} | ${n} | ${r.turns} | ${f(turnsPerSecond(r))} | ${base && r !== base ? ratio(turnsPerSecond(r), turnsPerSecond(base)) : ''} | ` +
        `${f(percentile(r.latencies, 50))} | ${f(percentile(r.latencies, 99))} | ${r.accepts.length ? f(percentile(r.accepts, 50)) : ''} | ` +
        `${r.firstTokens.length ? `${f(percentile(r.firstTokens, 50))} / ${f(percentile(r.firstTokens, 99))}` : ''} | ` +
        `${f(r.cpuPerTurn, 2)}${cpuLabel} | ${f(r.pgCpuPerTurn, 2)} | ${f(r.xactsPerTurn)} | ${r.errors} |`,
    );
  };
  for (const n of CHAT_LEVELS) row('raw pg pipeline', n, raw.get(n), ' (a)');
  for (const n of CHAT_LEVELS) row('product, 1 instance', n, product.get(`1:${n}`));
  for (const n of CHAT_LEVELS) row('product, 2 instances', n, product.get(`2:${n}`));
  lines.push('');
  lines.push(
    '(a) the whole bench process: the pipeline and its driver. Product server CPU: the server process(es) from /proc, without the client; ' +
      'PG CPU: every PostgreSQL process. 2 instances: chats alternate between them (1 chat: one instance serves it). First token: sendMessage -> first delta/snapshot of its reply at the subscriber. ' +
      'Accept: the sendMessage round trip. Write tx: transaction ids the database assigned per turn (BEGIN ... COMMIT, autocommit writes and NOTIFYs alike).',
  );
  lines.push('');

  const one = product.get(`1:${CHAT_LEVELS[0]}`);
  const raw1 = raw.get(CHAT_LEVELS[0]!);
  const modelP50 = percentile(model.sdk, 50);
  lines.push('| per turn | product | baseline | goal |');
  lines.push('|---|---:|---:|---:|');
  const pt = perTurn;
  lines.push(
    `| statements per plain turn (median; mean) | ${pt ? `${percentile(pt.statements, 50)}; ${f(mean(pt.statements))}` : 'n/a'} | ${raw1 ? f(raw1.statements) : 'n/a'} (raw) | <= 20 |`,
  );
  lines.push(
    `| write transactions per plain turn (transaction ids used; median) | ${pt ? percentile(pt.xacts, 50) : 'n/a'} | ${raw1 ? f(raw1.xactsPerTurn, 2) : 'n/a'} (raw) | <= 3 |`,
  );
  lines.push(`| of which BEGIN ... COMMIT (median) | ${pt ? percentile(pt.begins, 50) : 'n/a'} | ${raw1 ? f(raw1.transactions, 2) : 'n/a'} (raw) | |`);
  if (pt) lines.push(`| of which write statements (INSERT/UPDATE/DELETE; median) | ${percentile(pt.writes, 50)} | ${raw1 ? f(raw1.writes) : 'n/a'} (raw) | |`);
  if (pt) lines.push(`| database round trips per plain turn (queries sent; BEGIN travels with the row lock) | ${percentile(pt.roundTrips, 50)} | | |`);
  if (pt) lines.push(`| statements per turn with an idempotencyKey (median) | ${percentile(pt.statementsKeyed, 50)} | | |`);
  if (one)
    lines.push(`| server CPU per turn, 1 chat (server process only) | ${f(one.cpuPerTurn, 2)} ms | ${f(raw1?.cpuPerTurn, 2)} ms (raw, whole process) | <= 10 ms |`);
  if (perTurn) lines.push(`| CPU per turn, in-process server + client, sequential | ${f(perTurn.cpuInProcess, 2)} ms | | |`);
  if (one)
    lines.push(
      `| send -> first token at a subscriber, 1 chat, p50 / p99 | ${f(percentile(one.firstTokens, 50), 2)} / ${f(percentile(one.firstTokens, 99), 2)} ms | ` +
        `${f(modelP50, 2)} / ${f(percentile(model.sdk, 99), 2)} ms (model's own, streamText) | |`,
    );
  if (one) lines.push(`| added by the product before the first token (p50) | ${f(percentile(one.firstTokens, 50) - modelP50, 2)} ms | | <= 10 ms |`);
  lines.push(`| model first token without the AI SDK (doStream), p50 | | ${f(percentile(model.raw, 50), 3)} ms | |`);
  if (long) {
    const secs = long.streamMs / 1000;
    lines.push(
      `| NOTIFYs for one ${LONG_TOKENS}-token reply at ${LONG_DELAY_MS} ms/token (pg_notify statements; received) | ${long.notifyStatements}; ${long.received} | | |`,
    );
    lines.push(`| NOTIFYs per second of streaming (${f(secs, 2)} s) | ${f(long.notifyStatements / secs)} | | <= ~20 |`);
    lines.push(`| write statements for that reply (INSERT/UPDATE/DELETE); per token | ${long.writes}; ${f(long.writes / LONG_TOKENS, 4)} | | |`);
    lines.push(`| write transactions for that reply (transaction ids, NOTIFYs included) | ${long.xacts ?? 'n/a'} | | |`);
  }
  if (cleanSave !== null) lines.push(`| queries of a clean save | ${cleanSave} | | 0 |`);
  if (fanout) {
    lines.push(
      `| fan-out publish -> receipt, ${SUBSCRIBERS} subscribers on one chat, p50 / p99 | ${f(percentile(fanout.many, 50))} / ${f(percentile(fanout.many, 99))} ms | ` +
        `${f(percentile(fanout.one, 50))} / ${f(percentile(fanout.one, 99))} ms (1 subscriber) | |`,
    );
  }

  if (VERBOSE && perTurn) {
    console.log('\nSQL of the median plain turn:');
    perTurn.exampleSql.forEach((q, i) => console.log(`  ${String(i + 1).padStart(2)}. ${q.replace(/\s+/g, ' ').slice(0, 160)}`));
  }
  console.log(
    `\n## Benchmark results (Node ${process.version}, ${os.cpus().length} cores, ${dataDir ? 'embedded PostgreSQL' : 'DATABASE_URL'}, ${f((performance.now() - benchStarted) / 1000, 0)} s, ` +
      `load average ${loadAtStart} at start, ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at end)\n`,
  );
  console.log(lines.join('\n'));
}

/** Publish -> receipt for n SSE subscribers on one context (context.update). */
async function fanoutRun(url: string, client: ChatClient, n: number) {
  const { context: c } = await client.context.create.mutate({ title: 'fanout' });
  const clients = Array.from({ length: n }, () => newClient(url, 'bench-inproc'));
  const waiting = new Map<number, { left: number; sentAt: number; done: () => void }>();
  const latencies: number[] = [];
  let ready = 0;
  const subs = clients.map((cl) =>
    cl.events.onContext.subscribe(
      { contextId: c.id, lastEventId: String(c.lastEventSeq) },
      {
        onStarted: () => ready++,
        onData: ({ data }: { data: StreamItem }) => {
          if (data.kind !== 'event' || data.type !== 'context.updated') return;
          const title = (data.payload.changes as { title?: string }).title;
          const round = waiting.get(Number(title?.split(' ')[1]));
          if (!round) return;
          latencies.push(performance.now() - round.sentAt);
          if (--round.left === 0) round.done();
        },
        onError: () => {},
      } as never,
    ),
  );
  try {
    for (let i = 0; ready < n && i < 1500; i++) await sleep(20);
    if (ready < n) throw new Error(`only ${ready} of ${n} subscriptions started`);
    await sleep(300);
    for (let round = 0; round < FANOUT_ROUNDS; round++) {
      const done = new Promise<void>((resolve) => waiting.set(round, { left: n, sentAt: performance.now(), done: resolve }));
      waiting.get(round)!.sentAt = performance.now();
      await client.context.update.mutate({ contextId: c.id, title: `round ${round}` });
      await withTimeout(done, 30_000, `fan-out round ${round}`);
    }
  } finally {
    subs.forEach((s) => s.unsubscribe());
  }
  return latencies;
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${BENCH_TIMEOUT_MS} ms, stopping`);
  void cleanup().finally(() => process.exit(1));
}, BENCH_TIMEOUT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (error) => {
    console.error(error);
    await cleanup();
    process.exit(1);
  },
);
