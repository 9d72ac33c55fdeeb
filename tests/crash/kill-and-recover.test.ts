import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { verifyReplay } from '../support/verify-replay.ts';

const ENV = {
  LOCAL_MODEL_TOKEN_DELAY_MS: '20',
  LEASE_MS: '1500',
  SWEEP_INTERVAL_MS: '200',
  POLL_INTERVAL_MS: '200',
  CHECKPOINT_INTERVAL_MS: '100',
  MAX_RUN_ATTEMPTS: '3',
};

let databaseUrl: string;
let server: TestServer | null = null;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
});
afterAll(async () => {
  await server?.stop();
});

interface Row {
  id: string;
  role: string;
  status: string;
  runId: string | null;
  text: string;
  attempts: { attempt: number; status: string; parts: { type: string; text?: string }[] }[];
}
const messages = (contextId: string) =>
  sql<Row>(
    databaseUrl,
    `SELECT id, role, status, "runId", coalesce(parts->0->>'text', '') AS text, attempts FROM "Message" WHERE "contextId" = $1 ORDER BY seq`,
    [contextId],
  );

describe('a server killed with SIGKILL mid-run', () => {
  it('loses no accepted message, duplicates none, and every run ends (repeated kills)', { timeout: 180_000 }, async () => {
    server = await startServer({ databaseUrl, env: ENV });
    const { context } = await server.client('crash').context.create.mutate({});
    const accepted: string[] = [];

    for (let round = 0; round < 3; round++) {
      const client = server.client('crash');
      const long = await client.chat.sendMessage.mutate({ contextId: context.id, content: `round ${round} /long 150` });
      const queued = await client.chat.sendMessage.mutate({ contextId: context.id, content: `queued behind ${round}` });
      accepted.push(long.message.id, queued.message.id);
      // Wait until part of the reply is checkpointed, then kill the process without warning.
      await waitFor(
        async () => (await messages(context.id)).some((m) => m.runId === long.run.id && m.role === 'assistant' && m.text.length > 20),
        { what: 'a checkpointed partial reply' },
      );
      expect(await server.kill('SIGKILL')).toBeNull();

      server = await startServer({ databaseUrl, env: ENV });
      await waitIdle(server.client('crash'), context.id, 60_000);

      const rows = await messages(context.id);
      // One reply for the question: the retry answered in the interrupted reply's place, whose text is kept as attempt 1.
      const replies = rows.filter((m) => m.runId === long.run.id && m.role === 'assistant');
      expect(replies.map((m) => m.status)).toEqual(['complete']);
      expect(replies[0]!.text.split(/\s+/).filter(Boolean)).toHaveLength(150);
      expect(replies[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 'interrupted']]);
      const before = replies[0]!.attempts[0]!.parts[0]!.text!;
      expect(before.length).toBeGreaterThan(20);
      expect(replies[0]!.text.startsWith(before)).toBe(true);
      const [run] = await sql<{ status: string; attempt: number }>(databaseUrl, `SELECT status, attempt FROM "Run" WHERE id = $1`, [
        long.run.id,
      ]);
      expect(run).toEqual({ status: 'completed', attempt: 2 });
    }

    const rows = await messages(context.id);
    const users = rows.filter((m) => m.role === 'user');
    expect(users.map((m) => m.id)).toEqual(accepted); // none lost, none twice, in order
    const runs = await sql<{ id: string; status: string }>(databaseUrl, `SELECT id, status FROM "Run" WHERE "contextId" = $1`, [context.id]);
    expect(runs).toHaveLength(accepted.length);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    for (const r of runs) {
      expect(rows.filter((m) => m.runId === r.id && m.role === 'assistant' && m.status === 'complete')).toHaveLength(1);
    }
    const [ctx] = await sql<{ state: { type: string }; activeRunId: string | null }>(
      databaseUrl,
      `SELECT state, "activeRunId" FROM "Context" WHERE id = $1`,
      [context.id],
    );
    expect(ctx).toEqual({ state: { type: 'Idle' }, activeRunId: null });
    // The event log alone rebuilds the stored rows, the restarted replies and their attempts included.
    const replay = await verifyReplay(databaseUrl);
    expect(replay.output).toMatch(/verify-replay: \d+ contexts checked, 0 differ/);
    expect(replay.code).toBe(0);
  });

  it('gives up after the retry limit: the run ends interrupted and the context is Idle', async () => {
    const env = { ...ENV, MAX_RUN_ATTEMPTS: '1' };
    server ??= await startServer({ databaseUrl, env });
    await server.stop();
    server = await startServer({ databaseUrl, env });
    const client = server.client('crash');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'doomed /long 150' });
    await waitFor(async () => (await messages(context.id)).some((m) => m.role === 'assistant' && m.text.length > 0), {
      what: 'the reply to start',
    });
    await server.kill('SIGKILL');
    server = await startServer({ databaseUrl, env });
    const state = await waitIdle(server.client('crash'), context.id, 60_000);
    expect(state.lastError?.code).toBe('INTERRUPTED');
    const [run] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Run" WHERE id = $1`, [sent.run.id]);
    expect(run!.status).toBe('interrupted');
    expect((await messages(context.id)).map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'interrupted'],
    ]);
  });

  it('a graceful stop (SIGTERM) hands the run back and another process finishes it', async () => {
    const env = { ...ENV, SHUTDOWN_GRACE_MS: '100', LEASE_MS: '60000' };
    await server?.stop();
    server = await startServer({ databaseUrl, env });
    const client = server.client('crash');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'graceful /long 300' });
    await waitFor(async () => (await messages(context.id)).some((m) => m.role === 'assistant' && m.text.length > 0), {
      what: 'the reply to start',
    });
    expect(await server.kill('SIGTERM')).toBe(0);
    // The lease is a minute long: only the hand-back lets the next process continue at once.
    server = await startServer({ databaseUrl, env });
    await waitIdle(server.client('crash'), context.id, 20_000);
    const replies = (await messages(context.id)).filter((m) => m.runId === sent.run.id && m.role === 'assistant');
    expect(replies.map((m) => m.status)).toEqual(['complete']);
    expect(replies[0]!.attempts.map((a) => a.status)).toEqual(['interrupted']);
  });
});
