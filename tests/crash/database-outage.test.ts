// The embedded PostgreSQL killed (SIGKILL) under a running server, twice: the
// server answers SERVICE_BUSY (never a 500) meanwhile, restarts it, is healthy
// again within 20 s with exactly one LISTEN connection, finishes the reply,
// loses and duplicates no accepted message, and still stops on SIGTERM.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, type TestServer } from '../support/server.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-outage-'));
const ENV = {
  DATABASE_URL: '', // the suite's database is not used: this server starts its own embedded one under DATA_DIR
  DATA_DIR: dataDir,
  LOG_LEVEL: 'info',
  LOCAL_MODEL_TOKEN_DELAY_MS: '20',
  LEASE_MS: '3000',
  SWEEP_INTERVAL_MS: '200',
  POLL_INTERVAL_MS: '200',
  CHECKPOINT_INTERVAL_MS: '100',
  MAX_RUN_ATTEMPTS: '5',
  SHUTDOWN_GRACE_MS: '1000',
};
const OWNER = 'outage-owner';

let server: TestServer | null = null;
let databaseUrl = '';
beforeAll(async () => {
  server = await startServer({ databaseUrl: '', env: ENV });
  const port = Number(readFileSync(path.join(dataDir, 'port'), 'utf8'));
  databaseUrl = `postgresql://postgres:password@127.0.0.1:${port}/chat`;
});
afterAll(async () => {
  await server?.kill('SIGKILL');
  const pid = postmasterPid();
  if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function postmasterPid(): number | null {
  try {
    return Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}
function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface Answer {
  status: number;
  retryAfter: string | null;
  data?: unknown;
  error?: { code?: string; appCode?: string; retryAfterMs?: number; message: string };
}

/** One tRPC call over plain HTTP (no client-side retries), with the HTTP status. */
async function call(type: 'query' | 'mutation', procedure: string, input: unknown): Promise<Answer> {
  const base = `${server!.url}/api/trpc/${procedure}`;
  const headers = { authorization: `Bearer ${await server!.token(OWNER)}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ json: input });
  const response =
    type === 'query'
      ? await fetch(`${base}?input=${encodeURIComponent(body)}`, { headers })
      : await fetch(base, { method: 'POST', headers, body });
  const json = (await response.json()) as {
    result?: { data: { json: unknown } };
    error?: { json: { message: string; data?: { code?: string; appCode?: string; retryAfterMs?: number } } };
  };
  const answer: Answer = { status: response.status, retryAfter: response.headers.get('retry-after') };
  if (json.result) answer.data = json.result.data.json;
  if (json.error) answer.error = { message: json.error.json.message, ...json.error.json.data };
  return answer;
}

const health = async () => (await call('query', 'system.health', undefined)).data as { ok: boolean; status?: string; reason?: string };
const listenConnections = async () =>
  Number(
    (await sql<{ n: string }>(databaseUrl, `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'chat-listen'`))[0]!.n,
  );
const listenQueries = async () =>
  Number((await sql<{ n: string }>(databaseUrl, `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`))[0]!.n);

interface Row {
  role: string;
  status: string;
  runId: string | null;
  clientMessageId: string | null;
  text: string;
}
const messages = (contextId: string) =>
  sql<Row>(
    databaseUrl,
    `SELECT role, status, "runId", "clientMessageId", coalesce(parts->0->>'text', '') AS text FROM "Message" WHERE "contextId" = $1 ORDER BY seq`,
    [contextId],
  );

/** Every failure seen while the database was away. */
const outageErrors: Answer[] = [];
const busy = (a: Answer) => a.status === 503 && a.error?.code === 'SERVICE_UNAVAILABLE' && a.error.appCode === 'SERVICE_BUSY';

/** Sends until accepted, with the same idempotency key each time (a SERVICE_BUSY answer stored nothing). */
async function sendUntilAccepted(contextId: string, clientMessageId: string, content: string) {
  return waitFor(
    async () => {
      const answer = await call('mutation', 'chat.sendMessage', { contextId, content, clientMessageId, idempotencyKey: `key-${clientMessageId}` });
      if (answer.error) {
        outageErrors.push(answer);
        return null;
      }
      return answer.data as { message: { id: string }; run: { id: string } };
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${clientMessageId} to be accepted` },
  );
}

describe('the embedded PostgreSQL killed under a running server', () => {
  it('answers SERVICE_BUSY meanwhile, restarts it, keeps one LISTEN connection, finishes the replies, then stops on SIGTERM', async () => {
    const output = server!.output;
    onTestFailed(() => console.log(`server output:\n${output().slice(-8000)}`));
    expect(await health()).toMatchObject({ ok: true });
    expect(await listenConnections()).toBe(1);
    const created = await call('mutation', 'context.create', {});
    const contextId = (created.data as { context: { id: string } }).context.id;
    const sent: string[] = [];
    const longRuns: string[] = [];
    let outages = 0;

    for (const round of [1, 2]) {
      const long = await sendUntilAccepted(contextId, `long-${round}`, `round ${round} /long 300`);
      sent.push(`long-${round}`);
      longRuns.push(long.run.id);
      await waitFor(
        async () => (await messages(contextId)).some((m) => m.runId === long.run.id && m.role === 'assistant' && m.text.length > 20),
        { what: 'a checkpointed partial reply' },
      );

      const pid = postmasterPid()!;
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      const errorsBefore = outageErrors.length;
      outages++;

      // Meanwhile: reads and writes answer SERVICE_BUSY (503, Retry-After), health says degraded, nothing is a 500.
      const during = await Promise.all([
        call('query', 'context.state', { contextId }),
        call('query', 'context.get', { contextId }),
        call('query', 'run.latest', { contextId }),
      ]);
      const degraded = await health();
      const duringSend = await sendUntilAccepted(contextId, `during-${round}`, `sent during outage ${round}`);
      sent.push(`during-${round}`);
      expect(duringSend.message.id).toBeTruthy();
      for (const answer of during.filter((a) => a.error)) outageErrors.push(answer);
      expect(degraded).toMatchObject({ ok: false, status: 'degraded', reason: 'database unavailable' });
      expect(outageErrors.length).toBeGreaterThan(errorsBefore); // the outage was seen
      for (const answer of outageErrors) {
        expect(answer, JSON.stringify(answer)).toSatisfy(busy);
        expect(Number(answer.retryAfter)).toBeGreaterThan(0);
        expect(answer.error!.message).not.toMatch(/127\.0\.0\.1|prisma|SELECT|postgres/i);
      }

      // Healthy again within 20 s of the kill, on a new postmaster, with exactly one LISTEN connection.
      await waitFor(async () => (await health()).ok === true, { timeoutMs: 20_000, intervalMs: 100, what: 'health to be ok again' });
      expect(Date.now() - killedAt).toBeLessThan(20_000);
      expect(postmasterPid()).not.toBe(pid);
      await waitFor(async () => (await listenConnections()) === 1, { timeoutMs: 20_000 - (Date.now() - killedAt), what: 'the LISTEN connection' });
      expect(await listenQueries()).toBe(1);

      // Both replies of the round complete (the long one possibly on a retried attempt).
      await waitFor(
        async () => {
          const state = (await call('query', 'context.state', { contextId })).data as { state: { type: string }; queue: unknown[] } | undefined;
          return state?.state.type === 'Idle' && state.queue.length === 0;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: 'the context to be Idle' },
      );
      const rows = await messages(contextId);
      const replies = rows.filter((m) => m.runId === long.run.id && m.role === 'assistant');
      expect(replies.at(-1)).toMatchObject({ status: 'complete' });
      expect(replies.at(-1)!.text.split(/\s+/).filter(Boolean)).toHaveLength(300);
      expect(await listenConnections()).toBe(1);
    }

    // No accepted message lost or stored twice; every run completed.
    const rows = await messages(contextId);
    const users = rows.filter((m) => m.role === 'user').map((m) => m.clientMessageId);
    expect(users).toEqual(sent);
    const runs = await sql<{ id: string; status: string }>(databaseUrl, `SELECT id, status FROM "Run" WHERE "contextId" = $1`, [contextId]);
    expect(runs).toHaveLength(sent.length);
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'completed'));
    for (const run of runs) {
      expect(rows.filter((m) => m.runId === run.id && m.role === 'assistant' && m.status === 'complete')).toHaveLength(1);
    }

    // The outage was logged once each time (one warning), not per connection or per retry.
    expect(output().match(/embedded database went away/g)).toHaveLength(outages);
    expect(output()).not.toMatch(/"level":50/); // no error-level line (a 500 would log one)

    // SIGTERM still stops the app, and its postgres with it.
    const pid = postmasterPid()!;
    const started = Date.now();
    expect(await server!.kill('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    server = null;
    await waitFor(async () => !alive(pid), { timeoutMs: 5000, what: 'postgres to stop' });
  });

  it('SIGTERM while the database is away (mid-reply) still stops the app within the grace period', async () => {
    server = await startServer({ databaseUrl: '', env: ENV });
    const output = server.output;
    onTestFailed(() => console.log(`server output:\n${output().slice(-8000)}`));
    const created = await call('mutation', 'context.create', {});
    const contextId = (created.data as { context: { id: string } }).context.id;
    const sent = await sendUntilAccepted(contextId, 'stop-during-outage', '/long 300');
    await waitFor(
      async () => (await messages(contextId)).some((m) => m.runId === sent.run.id && m.role === 'assistant' && m.text.length > 20),
      { what: 'a checkpointed partial reply' },
    );
    process.kill(postmasterPid()!, 'SIGKILL');
    await waitFor(async () => (await health()).ok === false, { timeoutMs: 5000, intervalMs: 20, what: 'health to say degraded' });
    const started = Date.now();
    expect(await server.kill('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    server = null;
    // Nothing of it is left running (a postmaster it had restarted meanwhile was stopped with it).
    const pid = postmasterPid();
    if (pid) await waitFor(async () => !alive(pid), { timeoutMs: 5000, what: 'postgres to stop' });
  });
});
