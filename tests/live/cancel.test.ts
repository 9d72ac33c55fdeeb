import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { subscribe } from '../support/subscribe.ts';

let server: TestServer;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl, env: { LOCAL_MODEL_TOKEN_DELAY_MS: '10', CHECKPOINT_INTERVAL_MS: '5000' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('chat.cancel', () => {
  it('stops the reply mid-stream, keeps the partial text marked cancelled, and starts the next queued run', async () => {
    const client = server.client('cancel');
    const { context } = await client.context.create.mutate({});
    const live = subscribe(server.client('cancel'), context.id, '0');
    const long = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'long /long 1000' });
    const next = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'next please' });
    await waitFor(async () => live.deltas().length > 10, { what: 'streaming to begin' });

    const result = await client.chat.cancel.mutate({ contextId: context.id });
    expect(result).toMatchObject({ cancelled: true, run: { id: long.run.id } });
    await waitIdle(client, context.id);

    const runs = await client.run.list.query({ contextId: context.id });
    expect(runs.find((r) => r.id === long.run.id)!.status).toBe('cancelled');
    expect(runs.find((r) => r.id === next.run.id)!.status).toBe('completed');

    const { messages } = await client.context.get.query({ contextId: context.id });
    const partial = messages.find((m) => m.runId === long.run.id && m.role === 'assistant')!;
    expect(partial.status).toBe('cancelled');
    const partialText = (partial.parts[0] as { text: string }).text;
    expect(partialText.startsWith('You said: "long /long 1000"')).toBe(true);
    const words = partialText.trim().split(/\s+/).length;
    expect(words).toBeGreaterThan(10);
    expect(words).toBeLessThan(1000);
    // The checkpoint interval is 5 s: the text streamed since the last checkpoint was kept too,
    // so what the subscriber saw is a prefix of what is stored.
    await live.until((i) => i.kind === 'event' && i.type === 'run.completed');
    const seen = live.texts.get(partial.id)!;
    expect(seen.length).toBeGreaterThan(0);
    expect(partialText.startsWith(seen)).toBe(true);
    const reply = messages.find((m) => m.runId === next.run.id && m.role === 'assistant');
    expect(reply?.status).toBe('complete');
    expect(live.events().map((e) => e.type)).toContain('run.cancelled');
    live.close();
  });

  it('cancels a queued run without touching the active one, and a cancel with nothing running is a no-op', async () => {
    const client = server.client('cancel');
    const { context } = await client.context.create.mutate({});
    const active = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'active /long 100' });
    const queued = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'queued' });
    const result = await client.chat.cancel.mutate({ contextId: context.id, runId: queued.run.id });
    expect(result).toMatchObject({ cancelled: true, run: { id: queued.run.id } });
    await waitIdle(client, context.id);
    const runs = await client.run.list.query({ contextId: context.id });
    expect(runs.find((r) => r.id === active.run.id)!.status).toBe('completed');
    expect(runs.find((r) => r.id === queued.run.id)!.status).toBe('cancelled');
    const replies = await sql(databaseUrl, `SELECT id FROM "Message" WHERE "runId" = $1 AND role = 'assistant'`, [queued.run.id]);
    expect(replies).toHaveLength(0);
    expect(await client.chat.cancel.mutate({ contextId: context.id })).toMatchObject({ cancelled: false, run: null });
  });
});
