// `npm run bench -- curves`: what a chat's length costs. The full turn
// (sendMessage until its run.completed reaches a subscriber of the event bus),
// sendMessage alone (its accept), context.get, a context.messages page and
// run.latest, at 10, 1,000, 10,000 and 100,000 prior messages in one chat;
// then again with 1,000,000 messages in 10,000 other chats of another user
// in the database (BENCH_BIG=1; without it that part is skipped). Prints each
// curve (medians) and the ratio 100,000 / 10 against its goal.
//
// Everything runs in this process: the services (startServices, with their
// run worker and the local model at 0 ms per token) and the tRPC caller
// (createCallerFactory(appRouter) with an API token), so the figures are the
// server's work without HTTP. The chats are seeded with copies of one turn
// the app really ran (tests/scale/seed.ts), then VACUUM ANALYZEd.
//
// BENCH_CURVE_HTTP=1 sends the reads through the typed client (@chat/client,
// superjson) over HTTP instead, as another app would.
//
// Knobs (env): BENCH_BIG=1 (the 10,000 other chats), BENCH_CURVE_SIZES
// ("10,1000,10000,100000"), BENCH_CURVE_READS (30 per read and size),
// BENCH_CURVE_TURNS (10 per size), BENCH_OTHER_CHATS (10000) and
// BENCH_OTHER_MESSAGES (100 per other chat), DATABASE_URL (else an embedded
// PostgreSQL in a temporary directory).
import { appRouter, createApiServer, createCallerFactory, loadConfig, startServices, type Services } from '@chat/api';
import { createChatClient, type ChatClient } from '@chat/client';
import { migrateDeploy, startEmbeddedPostgres } from '@chat/db';
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cloneContexts, readTemplateTurn, seedTurns, type TemplateTurn } from '../scale/seed.ts';
import { guestSession, tokenFor } from '../support/identity.ts';
import { SERVER_ENV, sleep, withTimeout } from './common.ts';

const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const SIZES = (process.env.BENCH_CURVE_SIZES ?? '10,1000,10000,100000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0 && n % 2 === 0);
const READS = num('BENCH_CURVE_READS', 30);
const TURNS = num('BENCH_CURVE_TURNS', 10);
const BIG = process.env.BENCH_BIG === '1';
const HTTP = process.env.BENCH_CURVE_HTTP === '1';
const OTHER_CHATS = num('BENCH_OTHER_CHATS', 10_000);
const OTHER_MESSAGES = num('BENCH_OTHER_MESSAGES', 100);
const WARMUP = 5;
const TURN_TIMEOUT_MS = 30_000;
/** A question of ~330 characters (as tests/scale/bounded-reads.test.ts): ~70 turns fill the model's 48,000-character window. */
const QUESTION = `Please summarise the following paragraph for me. ${'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(4)}`.trim();
/** ratio 100,000 / 10 at most: every read 1.2, the turn 1.3. */
const GOALS: Record<string, number> = { turn: 1.3 };
const READ_GOAL = 1.2;

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const started = performance.now();
const log = (msg: string) => console.log(`[curves ${new Date().toISOString().slice(11, 19)} +${((performance.now() - started) / 1000).toFixed(0)}s] ${msg}`);

const callerFactory = createCallerFactory(appRouter);
type Caller = ReturnType<typeof callerFactory>;

interface Env {
  services: Services;
  server: Server;
  url: string;
  db: pg.Client;
  caller: Caller;
  /** The reads' client when BENCH_CURVE_HTTP=1. */
  http: ChatClient | null;
}

/** The timed operations of one chat, each returning its own duration in ms. */
const OPS = ['turn', 'sendMessage', 'context.get', 'context.messages (latest page of 50)', 'context.messages (page of 50 in the middle)', 'run.latest'] as const;
type Op = (typeof OPS)[number];
const READ_OPS = OPS.filter((o) => o !== 'turn' && o !== 'sendMessage');

async function time(fn: () => Promise<unknown>) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** sendMessage through the caller, then waits for its run.completed on the event bus (what a subscriber gets). */
async function turn(env: Env, contextId: string, content: string): Promise<{ turnMs: number; sendMs: number }> {
  const ended = new Map<string, string>();
  const waiters = new Map<string, (type: string) => void>();
  const unsubscribe = env.services.bus.subscribe(contextId, (event) => {
    if (event.type === 'run.completed' || event.type === 'run.failed' || event.type === 'run.cancelled' || event.type === 'run.interrupted') {
      const runId = (event.payload as { runId: string }).runId;
      ended.set(runId, event.type);
      waiters.get(runId)?.(event.type);
    }
  });
  try {
    const t0 = performance.now();
    const sent = await env.caller.chat.sendMessage({ contextId, content });
    const sendMs = performance.now() - t0;
    const runId = sent.run.id;
    const outcome = ended.get(runId) ?? (await withTimeout(new Promise<string>((r) => waiters.set(runId, r)), TURN_TIMEOUT_MS, `run ${runId}`));
    const turnMs = performance.now() - t0;
    if (outcome !== 'run.completed') throw new Error(`run ${runId} ended ${outcome}`);
    return { turnMs, sendMs };
  } finally {
    unsubscribe();
  }
}

async function read(env: Env, op: Op, contextId: string, middle: number) {
  if (env.http) return readOverHttp(env.http, op, contextId, middle);
  const c = env.caller;
  switch (op) {
    case 'context.get':
      return time(() => c.context.get({ contextId }));
    case 'context.messages (latest page of 50)':
      return time(() => c.context.messages({ contextId, limit: 50 }));
    case 'context.messages (page of 50 in the middle)':
      return time(() => c.context.messages({ contextId, limit: 50, cursor: middle }));
    case 'run.latest':
      return time(() => c.run.latest({ contextId }));
    default:
      throw new Error(op);
  }
}

async function readOverHttp(c: ChatClient, op: Op, contextId: string, middle: number) {
  switch (op) {
    case 'context.get':
      return time(() => c.context.get.query({ contextId }));
    case 'context.messages (latest page of 50)':
      return time(() => c.context.messages.query({ contextId, limit: 50 }));
    case 'context.messages (page of 50 in the middle)':
      return time(() => c.context.messages.query({ contextId, limit: 50, cursor: middle }));
    case 'run.latest':
      return time(() => c.run.latest.query({ contextId }));
    default:
      throw new Error(op);
  }
}

/** Chats of `sizes` prior messages: created through the API (idle), seeded with the template turn. */
async function seedChats(env: Env, template: TemplateTurn, label: string): Promise<Map<number, string>> {
  const chats = new Map<number, string>();
  for (const size of SIZES) {
    const { context } = await env.caller.context.create({ title: `${label} ${size} messages` });
    const t0 = performance.now();
    await seedTurns(env.db, context.id, template, size / 2);
    chats.set(size, context.id);
    log(`${label}: chat of ${size} messages seeded in ${f((performance.now() - t0) / 1000, 1)} s`);
  }
  return chats;
}

async function settle(env: Env) {
  const t0 = performance.now();
  // So autovacuum has nothing left to do during the measurement, and the planner has real statistics.
  await env.db.query('VACUUM (ANALYZE)');
  await env.db.query('CHECKPOINT');
  log(`VACUUM (ANALYZE) and CHECKPOINT in ${f((performance.now() - t0) / 1000, 1)} s`);
}

/**
 * The measurement, sizes interleaved (each repetition visits every size in turn,
 * so a busier moment of the machine lands on all of them alike): reads first,
 * then the turns (which add 2 messages each to their chat).
 */
async function measure(env: Env, chats: Map<number, string>): Promise<Map<Op, Map<number, number[]>>> {
  const samples = new Map<Op, Map<number, number[]>>(OPS.map((op) => [op, new Map(SIZES.map((s) => [s, []]))]));
  const middles = new Map<number, number>();
  for (const [size, id] of chats) middles.set(size, Math.floor((await env.db.query(`SELECT "lastMessageSeq" FROM "Context" WHERE id = $1`, [id])).rows[0].lastMessageSeq / 2));
  for (let rep = -WARMUP; rep < READS; rep++) {
    for (const size of SIZES) {
      for (const op of READ_OPS) {
        const ms = await read(env, op, chats.get(size)!, middles.get(size)!);
        if (rep >= 0) samples.get(op)!.get(size)!.push(ms);
      }
    }
  }
  for (let rep = -2; rep < TURNS; rep++) {
    for (const size of SIZES) {
      const { turnMs, sendMs } = await turn(env, chats.get(size)!, `turn ${rep}`);
      if (rep >= 0) {
        samples.get('turn')!.get(size)!.push(turnMs);
        samples.get('sendMessage')!.get(size)!.push(sendMs);
      }
      await sleep(20); // the run's last writes (its lease release) out of the next measurement
    }
  }
  return samples;
}

function table(title: string, samples: Map<Op, Map<number, number[]>>) {
  const first = SIZES[0]!;
  const last = SIZES.at(-1)!;
  // At 10 prior messages a page holds 10 messages, at 1,000 and more it is full: the second ratio compares equal outputs.
  const second = SIZES[1] ?? first;
  const lines = [
    title,
    '',
    `| median ms | ${SIZES.map((s) => s.toLocaleString('en-US')).join(' | ')} | ${last.toLocaleString('en-US')} / ${first.toLocaleString('en-US')} | goal | | ${last.toLocaleString('en-US')} / ${second.toLocaleString('en-US')} (same page size) |`,
    `|---|${SIZES.map(() => '---:').join('|')}|---:|---:|---|---:|`,
  ];
  const verdicts: string[] = [];
  for (const op of OPS) {
    const medians = SIZES.map((s) => median(samples.get(op)!.get(s)!));
    const r = medians.at(-1)! / medians[0]!;
    const goal = GOALS[op] ?? READ_GOAL;
    const met = r <= goal;
    verdicts.push(`${op}: ${f(r)}x ${met ? 'met' : 'NOT met'}`);
    const r2 = medians.at(-1)! / medians[SIZES.indexOf(second)]!;
    lines.push(`| ${op} | ${medians.map((m) => f(m)).join(' | ')} | ${f(r)}x | <= ${goal} | ${met ? 'met' : '**not met**'} | ${f(r2)}x |`);
  }
  return { text: lines.join('\n'), verdicts };
}

async function main() {
  const loadAtStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    while (cleanups.length) await cleanups.pop()!().catch((e) => console.error('cleanup:', e));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-curves-'));
      cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const pgHandle = await startEmbeddedPostgres({ dataDir });
      cleanups.push(pgHandle.stop);
      databaseUrl = pgHandle.url;
    }
    await migrateDeploy(databaseUrl);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    cleanups.push(() => db.end());
    const config = loadConfig({ ...process.env, ...SERVER_ENV, DATABASE_URL: databaseUrl, PORT: '0' });
    const services = await startServices(config, { migrate: false });
    const server = createApiServer(services);
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await withTimeout(services.stop(), 20_000, 'services.stop').catch((e) => log(String(e)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const callerFor = async (name: string) => {
      const token = await tokenFor(url, await guestSession(url), name);
      return { token, caller: callerFactory({ services, headers: new Headers({ authorization: `Bearer ${token}` }), url: `${url}/api/trpc` }) };
    };
    const own = await callerFor('bench-curves');
    const http = HTTP ? createChatClient({ url, token: own.token, batch: false, retry: false }) : null;
    const env: Env = { services, server, url, db, caller: own.caller, http };
    log(`database ready, ${os.cpus().length} cores, load average ${loadAtStart}`);

    // The template: one real turn of the app; and warm code (tsx, JIT) with a few more turns elsewhere.
    const { context: template } = await env.caller.context.create({ title: 'template' });
    const before = (await db.query(`SELECT version FROM "Context" WHERE id = $1`, [template.id])).rows[0].version;
    await turn(env, template.id, QUESTION);
    const templateTurn = await readTemplateTurn(db, template.id, before);
    const { context: warm } = await env.caller.context.create({ title: 'warm-up' });
    for (let i = 0; i < 10; i++) await turn(env, warm.id, `warm ${i}`);

    const chats = await seedChats(env, templateTurn, 'alone');
    await settle(env);
    log('measuring: chats alone in the database');
    const alone = table(`Chats alone in the database (besides two small ones)`, await measure(env, chats));
    console.log(`\n${alone.text}\n`);

    let crowded: ReturnType<typeof table> | null = null;
    if (BIG) {
      // Another user's chats: one empty context through the API, cloned; each seeded with the template turn.
      const { caller: other } = await callerFor('bench-curves-others');
      const { context: empty } = await other.context.create({ title: 'another chat' });
      let t0 = performance.now();
      const ids = await cloneContexts(db, empty.id, OTHER_CHATS - 1);
      ids.push(empty.id);
      log(`${OTHER_CHATS} other chats created in ${f((performance.now() - t0) / 1000, 1)} s`);
      t0 = performance.now();
      // Two connections: one builds the next batch while PostgreSQL inserts the other's.
      const second = new pg.Client({ connectionString: databaseUrl });
      await second.connect();
      cleanups.push(() => second.end());
      let next = 0;
      await Promise.all(
        [db, second].map(async (conn) => {
          while (next < ids.length) {
            const id = ids[next++]!;
            await seedTurns(conn, id, templateTurn, OTHER_MESSAGES / 2);
            if (next % 1000 === 0) log(`  ${next} other chats seeded`);
          }
        }),
      );
      log(`${(OTHER_CHATS * OTHER_MESSAGES).toLocaleString('en-US')} messages in other chats seeded in ${f((performance.now() - t0) / 1000, 1)} s`);
      const crowdedChats = await seedChats(env, templateTurn, 'crowded');
      await settle(env);
      log('measuring: with the other chats');
      crowded = table(
        `With ${(OTHER_CHATS * OTHER_MESSAGES).toLocaleString('en-US')} messages in ${OTHER_CHATS.toLocaleString('en-US')} other chats (another user's) in the database`,
        await measure(env, crowdedChats),
      );
      console.log(`\n${crowded.text}\n`);
    }

    const sizes = (await db.query(`SELECT (SELECT count(*) FROM "Message") AS messages, (SELECT count(*) FROM "Event") AS events, (SELECT count(*) FROM "Context") AS contexts, pg_size_pretty(pg_database_size(current_database())) AS size`)).rows[0];
    let commit = 'unknown';
    try {
      commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {}
    console.log(
      `\n## Transcript-length curves (commit ${commit}, Node ${process.version}, ${os.cpus().length} cores, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}, ` +
        `${f((performance.now() - started) / 1000, 0)} s, load average ${loadAtStart} at start, ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at end; ` +
        `database at the end: ${sizes.contexts} contexts, ${sizes.messages} messages, ${sizes.events} events, ${sizes.size})\n`,
    );
    console.log(
      `${HTTP ? 'Reads through the typed client over HTTP (turns in process)' : 'In-process caller (no HTTP)'}, medians of ${READS} reads and ${TURNS} turns per size after a warm-up, sizes interleaved. ` +
        `Turn: sendMessage until its run.completed reaches an event-bus subscriber (local model, 0 ms/token); sendMessage: its accept. ` +
        `context.get returns the latest 50 messages, so at 10 it returns 10. Columns: prior messages in the chat.\n`,
    );
    console.log(alone.text);
    if (crowded) console.log(`\n${crowded.text}`);
    else console.log('\n(BENCH_BIG=1 adds the curves with 1,000,000 messages in 10,000 other chats.)');
    console.log('');
    for (const v of [...alone.verdicts.map((v) => `alone: ${v}`), ...(crowded?.verdicts.map((v) => `crowded: ${v}`) ?? [])]) console.log(v);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
