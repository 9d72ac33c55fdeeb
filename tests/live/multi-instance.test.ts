import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { subscribe } from '../support/subscribe.ts';

const ENV = {
  LOCAL_MODEL_TOKEN_DELAY_MS: '15',
  LEASE_MS: '1500',
  SWEEP_INTERVAL_MS: '200',
  POLL_INTERVAL_MS: '200',
  CHECKPOINT_INTERVAL_MS: '250',
};
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Two instances, both up before any message, so a reply cannot finish while one is still starting. */
async function startPair(databaseUrl: string, env: Record<string, string>) {
  const pair = await Promise.all(
    ['instance-1', 'instance-2'].map((INSTANCE_ID) => startServer({ databaseUrl, env: { ...env, INSTANCE_ID } })),
  );
  servers.push(...pair);
  return pair as [TestServer, TestServer];
}

/** [A, B]: A is whichever instance claimed the run (claims race on the notification), B the other. */
async function ownerAndOther(databaseUrl: string, runId: string, [first, second]: [TestServer, TestServer]): Promise<[TestServer, TestServer]> {
  const owner = await waitFor(async () => {
    const [run] = await sql<{ leaseOwner: string | null }>(databaseUrl, `SELECT "leaseOwner" FROM "Run" WHERE id = $1`, [runId]);
    return run?.leaseOwner;
  });
  return owner === 'instance-1' ? [first, second] : [second, first];
}

describe('two server processes on one PostgreSQL', () => {
  it('a reply run by A streams to a subscriber on B; when A is killed, B recovers the run and the subscriber sees it finish', async () => {
    const databaseUrl = await createTestDatabase();
    const pair = await startPair(databaseUrl, ENV);
    const { context } = await pair[0].client('multi').context.create.mutate({});
    const sent = await pair[0].client('multi').chat.sendMessage.mutate({ contextId: context.id, content: 'across /long 400' });
    const [a, b] = await ownerAndOther(databaseUrl, sent.run.id, pair);
    const client = b.client('multi');
    const onB = subscribe(client, context.id, '0');
    // Tokens produced in A's process arrive through B.
    await waitFor(async () => onB.deltas().length > 20, { what: 'deltas on B' });
    expect(onB.anomalies).toEqual([]);

    await a.kill('SIGKILL');
    await onB.until((i) => i.kind === 'event' && i.type === 'run.completed', 60_000);
    expect(onB.anomalies).toEqual([]);
    const types = onB.events().map((e) => e.type);
    expect(types).toContain('message.interrupted');
    expect(types.filter((t) => t === 'run.started').length).toBeGreaterThanOrEqual(1);
    const [run] = await sql<{ status: string; attempt: number; leaseOwner: string | null }>(
      databaseUrl,
      `SELECT status, attempt, "leaseOwner" FROM "Run" WHERE id = $1`,
      [sent.run.id],
    );
    expect(run).toMatchObject({ status: 'completed', attempt: 2, leaseOwner: null });

    const { messages } = await b.client('multi').context.get.query({ contextId: context.id });
    const replies = messages.filter((m) => m.runId === sent.run.id && m.role === 'assistant');
    // One reply: B's retry answered in A's interrupted reply, whose text is kept as attempt 1.
    expect(types).toContain('message.restarted');
    expect(replies.map((m) => m.status)).toEqual(['complete']);
    expect(replies[0]!.attempts.map((x) => x.status)).toEqual(['interrupted']);
    expect(onB.texts.get(replies[0]!.id)).toBe((replies[0]!.parts[0] as { text: string }).text);
    await waitIdle(b.client('multi'), context.id);
    onB.close();
  });

  it('a cancel sent to B stops the run executing in A, through the bus', async () => {
    // Nothing but the bus may tell A: no checkpoint (whose save would see the cancelled run) and no
    // lease renewal (which would find the lease gone) happens within the test's time.
    const quiet = { ...ENV, LEASE_MS: '600000', CHECKPOINT_INTERVAL_MS: '600000', SWEEP_INTERVAL_MS: '600000' };
    const databaseUrl = await createTestDatabase();
    const pair = await startPair(databaseUrl, quiet);
    const { context } = await pair[0].client('multi').context.create.mutate({});
    // 1000 words at 15 ms: about 15 s of streaming if nothing stops it.
    const sent = await pair[0].client('multi').chat.sendMessage.mutate({ contextId: context.id, content: 'cancel across /long 1000' });
    // The cancel goes to B, the instance that does not run the reply.
    const [a, b] = await ownerAndOther(databaseUrl, sent.run.id, pair);
    const onA = subscribe(a.client('multi'), context.id, '0');
    await waitFor(async () => onA.deltas().length > 10, { what: 'A to stream' });

    const cancelledAt = Date.now();
    await b.client('multi').chat.cancel.mutate({ contextId: context.id, runId: sent.run.id });
    // A's worker lets go of the run (its model stopped) within 2 s...
    await waitFor(async () => (await a.client('multi').system.health.query()).runningRuns === 0, { timeoutMs: 2_000, intervalMs: 20, what: "A's worker to stop the run" });
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    // ...and its deltas stop. "Stopped" is a quiet window: a model streaming at 15 ms a word (deltas
    // coalesced per DELTA_FLUSH_MS, 50 ms) is never silent for 500 ms, so 500 ms without a delta
    // means it stopped; the last delta must come within 2 s of the cancel.
    let count = onA.deltas().length;
    let lastDeltaAt = Date.now();
    await waitFor(
      async () => {
        const now = onA.deltas().length;
        if (now !== count) [count, lastDeltaAt] = [now, Date.now()];
        return Date.now() - lastDeltaAt >= 500;
      },
      { timeoutMs: 5_000, intervalMs: 20, what: "A's deltas to stop" },
    );
    expect(lastDeltaAt - cancelledAt).toBeLessThan(2_000);

    await waitIdle(b.client('multi'), context.id);
    const [message] = await sql<{ status: string; n: number }>(
      databaseUrl,
      `SELECT status, length(parts->0->>'text')::int AS n FROM "Message" WHERE "runId" = $1 AND role = 'assistant'`,
      [sent.run.id],
    );
    // Nobody executes the run any more (A let go, B never claimed it), so the stored text is final.
    expect(message!.status).toBe('cancelled');
    expect(message!.n).toBeLessThan(3000);
    const [run] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Run" WHERE id = $1`, [sent.run.id]);
    expect(run!.status).toBe('cancelled');
    expect((await b.client('multi').system.health.query()).runningRuns).toBe(0);
    expect(onA.anomalies).toEqual([]);
    onA.close();
  });
});
