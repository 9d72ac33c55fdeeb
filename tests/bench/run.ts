// `npm run bench`: measured, not assumed. Prints each goal as a number and a
// ratio against a baseline measured in the same run on the same database.
import { createApiServer, loadConfig, startServices, type StreamItem } from '@chat/api';
import { createChatClient } from '@chat/api/client';
import { migrateDeploy, startEmbeddedPostgres } from '@chat/db';
import { EventSource } from 'eventsource';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const TURNS = Number(process.env.BENCH_TURNS ?? 40);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
const FANOUT_ROUNDS = 20;

const median = (xs: number[]) => percentile(xs, 50);
function percentile(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function main() {
  let dataDir: string | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  let stopDb = async () => {};
  if (!databaseUrl) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
    const db = await startEmbeddedPostgres({ dataDir });
    databaseUrl = db.url;
    stopDb = db.stop;
  }
  await migrateDeploy(databaseUrl);
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    LOCAL_MODEL_TOKEN_DELAY_MS: '0',
    LOG_LEVEL: 'warn',
    CHECKPOINT_INTERVAL_MS: '1000',
    POLL_INTERVAL_MS: '1000',
  });
  const services = await startServices(config, { migrate: false });
  const server = createApiServer(services);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const client = createChatClient({ url, ownerId: 'bench', EventSource: EventSource as never });
  const results: [string, string][] = [];

  // 1. Turn time: send -> run.completed seen on a subscription, local model at zero delay.
  const { context } = await client.context.create.mutate({ title: 'bench' });
  const completed = new Map<string, () => void>();
  const finished = new Set<string>(); // a fast run can complete before sendMessage's response arrives
  const sub = client.events.onContext.subscribe(
    { contextId: context.id, lastEventId: '0' },
    {
      onData: ({ data }: { data: StreamItem }) => {
        if (data.kind === 'event' && data.type === 'run.completed') {
          finished.add(data.payload.runId);
          completed.get(data.payload.runId)?.();
        }
      },
    } as never,
  );
  await new Promise((r) => setTimeout(r, 300));
  const turnTimes: number[] = [];
  const turnStatements: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const before = services.db.statements().total;
    const started = performance.now();
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: `turn ${i}` });
    completed.set(sent.run.id, resolve);
    if (finished.has(sent.run.id)) resolve();
    await done;
    turnTimes.push(performance.now() - started);
    turnStatements.push(services.db.statements().total - before);
  }
  sub.unsubscribe();

  // Baseline: the same rows (user message, run, reply, events) written by raw pg in one transaction.
  const raw = new pg.Client({ connectionString: databaseUrl });
  await raw.connect();
  const baseTimes: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const started = performance.now();
    const id = `raw_${i}_${Date.now()}`;
    await raw.query('BEGIN');
    await raw.query(`INSERT INTO "Context" (id, "ownerId", title, model, state, "updatedAt") VALUES ($1, 'bench', 'raw', 'local:scripted', '{"type":"Idle"}', now())`, [id]);
    await raw.query(`INSERT INTO "Branch" (id, "contextId", name) VALUES ($1, $1, 'main')`, [id]);
    await raw.query(
      `INSERT INTO "Message" (id, "contextId", "branchId", seq, role, parts, status) VALUES ($1 || 'u', $1, $1, 1, 'user', '[{"type":"text","text":"hi"}]', 'complete'), ($1 || 'a', $1, $1, 2, 'assistant', '[{"type":"text","text":"You said: hi"}]', 'complete')`,
      [id],
    );
    await raw.query(`INSERT INTO "Run" (id, "contextId", "branchId", "triggerMessageId", status) VALUES ($1, $1, $1, $1 || 'u', 'completed')`, [id]);
    await raw.query(
      `INSERT INTO "Event" ("contextId", seq, type, payload) SELECT $1, g, 'x', '{}' FROM generate_series(1, 10) g`,
      [id],
    );
    await raw.query(`UPDATE "Context" SET version = version + 1 WHERE id = $1`, [id]);
    await raw.query('COMMIT');
    baseTimes.push(performance.now() - started);
  }
  await raw.end();
  results.push(['turn time, median (send -> run.completed over SSE)', ms(median(turnTimes))]);
  results.push(['baseline: same rows by raw pg in one transaction, median', ms(median(baseTimes))]);
  results.push(['ratio turn / baseline', `${(median(turnTimes) / median(baseTimes)).toFixed(1)}x`]);

  // 2. Queries: a clean save sends none; a plain turn sends this many.
  const aggregate = await services.repo.load(context.id);
  const beforeClean = services.db.statements().total;
  await services.repo.save(aggregate);
  results.push(['queries of a clean save', String(services.db.statements().total - beforeClean)]);
  results.push(['queries of a plain turn (API + worker), median', String(median(turnStatements))]);

  // 3. Fan-out: publish -> receipt for N SSE subscribers on one context, against 1 subscriber.
  async function fanout(n: number) {
    const { context: c } = await client.context.create.mutate({ title: 'fanout' });
    const clients = Array.from({ length: n }, () => createChatClient({ url, ownerId: 'bench', EventSource: EventSource as never }));
    const waiting = new Map<number, { left: number; sentAt: number; latencies: number[]; done: () => void }>();
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
            round.latencies.push(performance.now() - round.sentAt);
            if (--round.left === 0) round.done();
          },
        } as never,
      ),
    );
    while (ready < n) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    for (let round = 0; round < FANOUT_ROUNDS; round++) {
      const done = new Promise<void>((resolve) =>
        waiting.set(round, { left: n, sentAt: performance.now(), latencies, done: resolve }),
      );
      waiting.get(round)!.sentAt = performance.now();
      await client.context.update.mutate({ contextId: c.id, title: `round ${round}` });
      await done;
    }
    subs.forEach((s) => s.unsubscribe());
    return latencies;
  }
  const one = await fanout(1);
  const many = await fanout(SUBSCRIBERS);
  results.push([`fan-out latency, 1 subscriber: p50 / p99`, `${ms(percentile(one, 50))} / ${ms(percentile(one, 99))}`]);
  results.push([`fan-out latency, ${SUBSCRIBERS} subscribers: p50 / p99`, `${ms(percentile(many, 50))} / ${ms(percentile(many, 99))}`]);
  results.push(['ratio p50 many / one', `${(percentile(many, 50) / percentile(one, 50)).toFixed(1)}x`]);

  // 4. Writes per streamed reply vs tokens (checkpoint interval 1 s).
  const { context: longCtx } = await client.context.create.mutate({ title: 'long' });
  const beforeLong = services.db.statements();
  const sentLong = await client.chat.sendMessage.mutate({ contextId: longCtx.id, content: '/long 2000' });
  for (;;) {
    const runs = await client.run.list.query({ contextId: longCtx.id });
    if (runs.find((r) => r.id === sentLong.run.id)?.status === 'completed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const writes = services.db.statements().writes - beforeLong.writes;
  results.push(['writes for a 2000-token streamed reply', String(writes)]);
  results.push(['writes per token', (writes / 2000).toFixed(4)]);

  server.closeAllConnections();
  server.close();
  await services.stop();
  await stopDb();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  const width = Math.max(...results.map(([k]) => k.length));
  console.log('\nbenchmark results');
  for (const [k, v] of results) console.log(`  ${k.padEnd(width)}  ${v}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
