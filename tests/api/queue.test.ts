import type { RouterOutputs } from '@chat/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { errorOf, startServer, waitIdle, type TestServer } from '../support/server.ts';

type Event = RouterOutputs['events']['list']['events'][number];

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ databaseUrl: await createTestDatabase(), env: { LOCAL_MODEL_TOKEN_DELAY_MS: '3' } });
});
afterAll(async () => {
  await server?.stop();
});

/** Replays the log: at no point may two runs of the context be started and unfinished. */
function runsOverlap(events: Event[]) {
  let active: string | null = null;
  const order: string[] = [];
  for (const e of events) {
    const p = e.payload as { runId?: string };
    if (e.type === 'run.started') {
      if (active) return { overlap: true, order };
      active = p.runId!;
      order.push(p.runId!);
    }
    if (['run.completed', 'run.failed', 'run.cancelled', 'run.interrupted'].includes(e.type) && p.runId === active) active = null;
  }
  return { overlap: false, order };
}

describe('run queue', () => {
  it('concurrent sends from several clients: all persisted, one run at a time, FIFO, one order for every reader', async () => {
    const owner = 'queue-owner';
    const clients = [server.client(owner, { batch: false }), server.client(owner, { batch: false }), server.client(owner, { batch: false })];
    const { context } = await clients[0]!.context.create.mutate({});
    const sends = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        clients[i % 3]!.chat.sendMessage.mutate({ contextId: context.id, content: `message ${i} /long 12` }),
      ),
    );
    await waitIdle(clients[0]!, context.id, 60_000);

    const views = await Promise.all(clients.map((c) => c.context.messages.query({ contextId: context.id, limit: 500 })));
    const ids = views.map((v) => v.items.map((m) => m.id));
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
    const items = views[0]!.items;
    expect(items.filter((m) => m.role === 'user')).toHaveLength(12);
    expect(items.filter((m) => m.role === 'assistant' && m.status === 'complete')).toHaveLength(12);
    expect(items.map((m) => m.seq)).toEqual([...items.map((m) => m.seq)].sort((a, b) => a - b));

    const { events } = await clients[0]!.events.list.query({ contextId: context.id, limit: 1000 });
    const { overlap, order } = runsOverlap(events);
    expect(overlap).toBe(false);
    // FIFO: runs started in the order their messages were accepted (by seq).
    const triggerSeq = new Map(sends.map((s) => [s.run.id, s.message.seq]));
    expect(order.map((id) => triggerSeq.get(id))).toEqual([...triggerSeq.values()].sort((a, b) => a - b));
    // Each reply answers its own message.
    for (const send of sends) {
      const reply = items.find((m) => m.role === 'assistant' && m.runId === send.run.id)!;
      const text = (reply.parts[0] as { text: string }).text;
      expect(text.startsWith(`You said: "${(send.message.parts[0] as { text: string }).text}"`)).toBe(true);
    }
  });

  it('while busy, the state shows the active run and the queue in order', async () => {
    const client = server.client('queue-owner-2');
    const { context } = await client.context.create.mutate({});
    const a = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'first /long 300' });
    const b = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'second' });
    const c = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'third' });
    const state = await client.context.state.query({ contextId: context.id });
    expect(state.state).toMatchObject({ type: 'ProcessingUserMessage', runId: a.run.id });
    expect(state.activeRun?.id).toBe(a.run.id);
    expect(state.queue.map((r) => r.id)).toEqual([b.run.id, c.run.id]);
    await waitIdle(client, context.id, 60_000);
  });

  it("the 'reject' busy policy answers CONFLICT with the active run", async () => {
    const client = server.client('queue-owner-3');
    const { context } = await client.context.create.mutate({ busyPolicy: 'reject' });
    const first = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'busy /long 300' });
    const err = await errorOf(client.chat.sendMessage.mutate({ contextId: context.id, content: 'too soon' }));
    expect(err).toMatchObject({ code: 'CONFLICT', appCode: 'CONTEXT_BUSY' });
    await waitIdle(client, context.id, 60_000);
    const { items } = await client.context.messages.query({ contextId: context.id });
    expect(items.filter((m) => m.role === 'user').map((m) => m.id)).toEqual([first.message.id]);
    const again = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'now fine' });
    expect(again.replayed).toBe(false);
    await waitIdle(client, context.id);
  });
});
