import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { sql } from '../support/sql.ts';
import { subscribe } from '../support/subscribe.ts';

let server: TestServer;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({
    databaseUrl,
    env: { LOCAL_MODEL_TOKEN_DELAY_MS: '4', CHECKPOINT_INTERVAL_MS: '300' },
  });
});
afterAll(async () => {
  await server?.stop();
});

const isRunEnd = (type: string) => ['run.completed', 'run.failed', 'run.cancelled', 'run.interrupted'].includes(type);

describe('events.onContext over SSE', () => {
  it('two clients receive the same events in the same order, and the reply token by token', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    const a = subscribe(server.client('live'), context.id, '0');
    const b = subscribe(server.client('live'), context.id, '0');
    await waitFor(async () => a.started && b.started && a.events().length >= 2 && b.events().length >= 2);
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'stream me /long 60' });
    for (const s of [a, b]) await s.until((i) => i.kind === 'event' && isRunEnd(i.type));
    await waitFor(async () => a.events().length === b.events().length);

    expect(b.events().map((e) => [e.seq, e.type])).toEqual(a.events().map((e) => [e.seq, e.type]));
    expect(a.anomalies).toEqual([]);
    expect(b.anomalies).toEqual([]);
    const { messages } = await client.context.get.query({ contextId: context.id });
    const reply = messages.find((m) => m.runId === sent.run.id && m.role === 'assistant')!;
    const persisted = (reply.parts[0] as { text: string }).text;
    expect(persisted.split(' ')).toHaveLength(60);
    expect(a.texts.get(reply.id)).toBe(persisted);
    // Streamed, not in one lump, but coalesced (DELTA_FLUSH_MS, 50 ms): at most one delta per 50 ms of streaming
    // (60 words 4 ms apart: a handful; on a loaded machine the reply takes longer, and the bound with it).
    const deltas = a.deltas().filter((d) => d.payload.messageId === reply.id).length;
    const at = (type: string) => new Date(a.events().find((e) => e.type === type && (e.payload as { runId?: string }).runId === sent.run.id)!.createdAt).getTime();
    const streamedMs = at('run.completed') - at('run.started');
    expect(deltas).toBeGreaterThan(2);
    expect(deltas).toBeLessThanOrEqual(Math.ceil(streamedMs / 50) + 2);
    expect(deltas).toBeLessThan(60);
    a.close();
    b.close();
  });

  it('a client that disconnects mid-stream and resumes with lastEventId ends with the exact reply, no gap, no repeat', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    const first = subscribe(server.client('live'), context.id, '0');
    // Stays connected throughout: it shows how far the reply got while `first` was away.
    const watcher = subscribe(server.client('live'), context.id, '0');
    await waitFor(async () => first.started && first.events().length >= 2 && watcher.started);
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'resume me /long 400' });
    await waitFor(async () => first.deltas().length > 20, { what: 'some deltas' });
    first.close();
    const resumeFrom = first.lastEventId!;
    const receivedBefore = new Map(first.texts);
    // Tokens keep flowing while this client is away: resume only once the reply has grown past what it had.
    const replyId = first.deltas()[0]!.payload.messageId;
    const had = receivedBefore.get(replyId)?.length ?? 0;
    await waitFor(async () => (watcher.texts.get(replyId)?.length ?? 0) > had + 100, { what: 'the reply to grow while nobody listens' });
    watcher.close();

    // A resuming client keeps what it had: it continues from its text and its last seq.
    const second = subscribe(server.client('live'), context.id, resumeFrom, receivedBefore);
    await second.until((i) => i.kind === 'event' && isRunEnd(i.type));
    expect(second.anomalies).toEqual([]);
    const events = second.events();
    expect(events[0]!.seq).toBe(Number(resumeFrom) + 1);
    const { messages } = await client.context.get.query({ contextId: context.id });
    const reply = messages.find((m) => m.runId === sent.run.id && m.role === 'assistant')!;
    const persisted = (reply.parts[0] as { text: string }).text;
    // The second connection got a snapshot of the text so far, then the rest exactly once.
    expect(second.items.some((i) => i.data.kind === 'ephemeral' && i.data.type === 'message.snapshot')).toBe(true);
    expect(second.texts.get(reply.id)).toBe(persisted);
    expect(persisted.startsWith(receivedBefore.get(reply.id) ?? '')).toBe(true);
    second.close();
  });

  it('persisted events arrive before the live ones when resuming from an old seq, without duplicates', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'one' });
    await waitIdle(client, context.id);
    const late = subscribe(server.client('live'), context.id, '2');
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'two' });
    await late.until((i) => i.kind === 'event' && i.type === 'run.completed' && late.events().filter((e) => e.type === 'run.completed').length === 2);
    const seqs = late.events().map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 3));
    expect(late.anomalies).toEqual([]);
    late.close();
  });

  it('without lastEventId: a snapshot of the context first, then only what follows it, never the old log', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'before joining' });
    await waitIdle(client, context.id);
    const { lastEventSeq } = await client.context.state.query({ contextId: context.id });
    const fresh = subscribe(server.client('live'), context.id);
    await fresh.until((i) => i.kind === 'ephemeral' && i.type === 'context.snapshot');
    const first = fresh.items[0]!.data;
    expect(first).toMatchObject({ kind: 'ephemeral', type: 'context.snapshot', afterSeq: lastEventSeq });
    expect((first as { payload: { context: { id: string } } }).payload.context.id).toBe(context.id);
    expect(fresh.items[0]!.id).toBe(String(lastEventSeq)); // a reconnect resumes after the snapshot
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'after joining' });
    await fresh.until((i) => i.kind === 'event' && i.type === 'run.completed');
    const seqs = fresh.events().map((e) => e.seq);
    expect(seqs[0]).toBe(lastEventSeq + 1);
    expect(fresh.anomalies).toEqual([]);
    fresh.close();
  });

  it('catches up after the LISTEN connection drops: nothing committed meanwhile is missed', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    const live = subscribe(server.client('live'), context.id, String(context.lastEventSeq));
    await waitFor(async () => live.started);
    // Past its join (backlog read) and in the live loop: it has received a change made after it connected.
    await client.context.update.mutate({ contextId: context.id, title: 'before' });
    await live.until((i) => i.kind === 'event' && i.type === 'context.updated');
    // Cut the server's listening connection; a change committed now sends a NOTIFY nobody receives.
    const killed = await sql(
      databaseUrl,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
    );
    expect(killed.length).toBeGreaterThan(0);
    await client.context.update.mutate({ contextId: context.id, title: 'changed while deaf' });
    await live.until(() => live.events().filter((e) => e.type === 'context.updated').length === 2, 15_000);
    expect(live.anomalies).toEqual([]);
    live.close();
  });

  it('rejects a lastEventId that is not an event seq', async () => {
    const { context } = await server.client('live').context.create.mutate({});
    for (const bad of ['abc', '-1', '99999999999']) {
      const s = subscribe(server.client('live'), context.id, bad);
      await waitFor(async () => s.errors.length > 0, { what: 'an error' });
      expect((s.errors[0] as { data?: { code?: string } }).data?.code).toBe('BAD_REQUEST');
      s.close();
    }
  });

  it('checks ownership like every other procedure', async () => {
    const { context } = await server.client('live').context.create.mutate({});
    const stranger = subscribe(server.client('intruder'), context.id, '0');
    await waitFor(async () => stranger.errors.length > 0, { what: 'an error' });
    expect((stranger.errors[0] as { data?: { code?: string } }).data?.code).toBe('NOT_FOUND');
    stranger.close();
  });

  it('a long reply costs a handful of writes plus one checkpoint per interval, not one per token', async () => {
    const client = server.client('live');
    const { context } = await client.context.create.mutate({});
    const before = await client.system.metrics.query();
    const started = Date.now();
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'long /long 2000' });
    await waitIdle(client, context.id, 60_000);
    const elapsed = Date.now() - started;
    const after = await client.system.metrics.query();
    const writes = after.writes - before.writes;
    const checkpoints = Math.ceil(elapsed / 300) + 1;
    // Each save writes the context row, the changed rows and the events: a few statements.
    expect(writes).toBeLessThanOrEqual(30 + 4 * checkpoints);
    expect(writes).toBeLessThan(2000 / 10);
    const { events } = await client.events.list.query({ contextId: context.id, limit: 1000 });
    const checkpointEvents = events.filter((e) => e.type === 'message.checkpointed').length;
    expect(checkpointEvents).toBeGreaterThan(0);
    expect(checkpointEvents).toBeLessThanOrEqual(checkpoints);
  });
});
