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

describe('two server processes on one PostgreSQL', () => {
  it('a reply run by A streams to a subscriber on B; when A is killed, B recovers the run and the subscriber sees it finish', async () => {
    const databaseUrl = await createTestDatabase();
    const a = await startServer({ databaseUrl, env: { ...ENV, INSTANCE_ID: 'instance-a' } });
    servers.push(a);
    const client = a.client('multi');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'across /long 400' });
    await waitFor(async () => {
      const [run] = await sql<{ leaseOwner: string | null }>(databaseUrl, `SELECT "leaseOwner" FROM "Run" WHERE id = $1`, [sent.run.id]);
      return run?.leaseOwner === 'instance-a';
    });

    const b = await startServer({ databaseUrl, env: { ...ENV, INSTANCE_ID: 'instance-b' } });
    servers.push(b);
    const onB = subscribe(b.client('multi'), context.id, '0');
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
    expect(replies.map((m) => m.status)).toEqual(['interrupted', 'complete']);
    expect(onB.texts.get(replies[1]!.id)).toBe((replies[1]!.parts[0] as { text: string }).text);
    await waitIdle(b.client('multi'), context.id);
    onB.close();
  });

  it('a cancel sent to B stops the run executing in A', async () => {
    const databaseUrl = await createTestDatabase();
    const a = await startServer({ databaseUrl, env: { ...ENV, INSTANCE_ID: 'instance-a2' } });
    servers.push(a);
    const sent = await a.client('multi').chat.sendMessage.mutate({
      contextId: (await a.client('multi').context.create.mutate({})).context.id,
      content: 'cancel across /long 1000',
    });
    const contextId = sent.message.contextId;
    await waitFor(async () => {
      const rows = await sql<{ n: number }>(databaseUrl, `SELECT length(parts->0->>'text')::int AS n FROM "Message" WHERE "runId" = $1 AND role = 'assistant'`, [
        sent.run.id,
      ]);
      return (rows[0]?.n ?? 0) > 0;
    });
    const b = await startServer({ databaseUrl, env: { ...ENV, INSTANCE_ID: 'instance-b2' } });
    servers.push(b);
    await b.client('multi').chat.cancel.mutate({ contextId, runId: sent.run.id });
    await waitIdle(a.client('multi'), contextId);
    // A stopped streaming: after it stored the text it had streamed (a moment after the cancel),
    // the reply no longer grows and is far from the 1000 words it was asked for.
    const textLength = async () =>
      (await sql<{ n: number }>(databaseUrl, `SELECT length(parts->0->>'text')::int AS n FROM "Message" WHERE "runId" = $1 AND role = 'assistant'`, [sent.run.id]))[0]!.n;
    await new Promise((r) => setTimeout(r, 500));
    const first = await textLength();
    await new Promise((r) => setTimeout(r, 600));
    expect(await textLength()).toBe(first);
    expect(first).toBeLessThan(3000);
    const [message] = await sql<{ status: string }>(databaseUrl, `SELECT status FROM "Message" WHERE "runId" = $1 AND role = 'assistant'`, [sent.run.id]);
    expect(message!.status).toBe('cancelled');
  });
});
