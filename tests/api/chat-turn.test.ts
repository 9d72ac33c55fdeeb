import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { errorOf, startServer, waitIdle, type TestServer } from '../support/server.ts';

let databaseUrl: string;
let server: TestServer;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
});
afterAll(async () => {
  await server?.stop();
});

async function countRows(table: string, contextId?: string) {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = contextId
      ? await db.query(`SELECT count(*)::int AS n FROM "${table}" WHERE "contextId" = $1`, [contextId])
      : await db.query(`SELECT count(*)::int AS n FROM "${table}"`);
    return rows[0].n as number;
  } finally {
    await db.end();
  }
}

describe('one chat turn over HTTP', () => {
  it('persists the user message and the reply in order, with their events', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({ title: 'First chat' });
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'Hello!' });
    expect(sent.replayed).toBe(false);
    expect(sent.message).toMatchObject({ role: 'user', status: 'complete', parts: [{ type: 'text', text: 'Hello!' }] });
    expect(sent.run.status).toBe('pending');

    await waitIdle(client, context.id);
    const got = await client.context.get.query({ contextId: context.id });
    expect(got.messages.map((m) => [m.role, m.status, m.parts])).toEqual([
      ['user', 'complete', [{ type: 'text', text: 'Hello!' }]],
      ['assistant', 'complete', [{ type: 'text', text: 'You said: "Hello!"' }]],
    ]);
    expect(got.messages[1]!.parentId).toBe(got.messages[0]!.id);
    expect(got.latestRun).toMatchObject({ id: sent.run.id, status: 'completed', responseMessageId: got.messages[1]!.id });

    const { events } = await client.events.list.query({ contextId: context.id });
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['context.created', 'branch.created']);
    for (const type of ['message.created', 'run.queued', 'run.started', 'message.completed', 'run.completed']) {
      expect(types).toContain(type);
    }
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(types.indexOf('run.queued')).toBeLessThan(types.indexOf('run.started'));
    expect(types.lastIndexOf('message.completed')).toBeLessThan(types.indexOf('run.completed'));
  });

  it('answers three quick sends, all persisted, in order', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({});
    const texts = ['one', 'two', 'three'];
    const sends = await Promise.all(texts.map((content) => client.chat.sendMessage.mutate({ contextId: context.id, content })));
    expect(new Set(sends.map((s) => s.run.id)).size).toBe(3);
    await waitIdle(client, context.id);
    const { items } = await client.context.messages.query({ contextId: context.id });
    const users = items.filter((m) => m.role === 'user');
    const replies = items.filter((m) => m.role === 'assistant');
    expect(users).toHaveLength(3);
    expect(replies).toHaveLength(3);
    // Each reply answers its own message, and replies come in the order the messages were accepted.
    const order = users.map((m) => (m.parts[0] as { text: string }).text);
    expect(replies.map((m) => (m.parts[0] as { text: string }).text)).toEqual(order.map((t) => `You said: "${t}"`));
    const runs = await client.run.list.query({ contextId: context.id });
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  });

  it('stores a 10,000-character message byte for byte', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({});
    const content = Array.from({ length: 10_000 }, (_, i) => 'aé漢😀 \n"\\'.charAt(i % 8)).join('');
    expect(content).toHaveLength(10_000);
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content });
    const { items } = await client.context.messages.query({ contextId: context.id });
    expect(items.find((m) => m.id === sent.message.id)!.parts).toEqual([{ type: 'text', text: content }]);
    await waitIdle(client, context.id);
  });

  it('gives NOT_FOUND for unknown ids and for another owner', async () => {
    const client = server.client();
    const missing = await errorOf(client.context.get.query({ contextId: 'ctx_nope' }));
    expect(missing).toMatchObject({ code: 'NOT_FOUND', appCode: 'CONTEXT_NOT_FOUND' });
    expect(await errorOf(client.chat.sendMessage.mutate({ contextId: 'ctx_nope', content: 'hi' }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    const { context } = await client.context.create.mutate({});
    const stranger = server.client('someone-else');
    expect(await errorOf(stranger.context.get.query({ contextId: context.id }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await errorOf(stranger.chat.sendMessage.mutate({ contextId: context.id, content: 'hi' }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await countRows('Message', context.id)).toBe(0);
  });

  it('rejects malformed input with BAD_REQUEST and stores nothing', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({});
    const before = await countRows('Event');
    const bad = [
      client.chat.sendMessage.mutate({ contextId: context.id, content: '' }),
      client.chat.sendMessage.mutate({ contextId: context.id, content: '   ' }),
      client.chat.sendMessage.mutate({ contextId: context.id, content: 42 as unknown as string }),
      client.chat.sendMessage.mutate({ contextId: '', content: 'hi' }),
      client.context.create.mutate({ model: 'not a model' }),
      client.context.list.query({ limit: -3 }),
      client.chat.sendMessage.mutate({ contextId: context.id, content: 'nul \u0000 byte' }),
      client.context.update.mutate({ contextId: context.id, title: 'bad\u0000title' }),
      client.events.list.query({ contextId: context.id, afterSeq: 2 ** 31 }),
      client.context.messages.query({ contextId: context.id, cursor: 1e12 }),
    ];
    // Every failure is observed at once (errorOf), so none is left unhandled while another is awaited.
    for (const outcome of await Promise.all(bad.map(errorOf))) {
      expect(outcome).toMatchObject({ code: 'BAD_REQUEST', appCode: 'INVALID_INPUT' });
    }
    expect(await errorOf(client.chat.sendMessage.mutate({ contextId: context.id, content: 'x'.repeat(100_001) }))).toMatchObject({
      code: 'BAD_REQUEST',
      appCode: 'MESSAGE_TOO_LONG',
    });
    expect(await errorOf(client.context.create.mutate({ model: 'nosuch:model' }))).toMatchObject({
      code: 'BAD_REQUEST',
      appCode: 'UNKNOWN_MODEL',
    });
    expect(await countRows('Message', context.id)).toBe(0);
    expect(await countRows('Event')).toBe(before);
  });

  it('context.messages pages backwards through the whole branch by cursor: every message once, in order', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({});
    for (let i = 0; i < 8; i++) {
      await client.chat.sendMessage.mutate({ contextId: context.id, content: `page ${i}` });
      await waitIdle(client, context.id);
    }
    const whole = (await client.context.messages.query({ contextId: context.id, limit: 100 })).items.map((m) => m.id);
    expect(whole).toHaveLength(16);
    const pages: string[][] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = await client.context.messages.query({ contextId: context.id, limit: 5, ...(cursor !== undefined ? { cursor } : {}) });
      pages.unshift(page.items.map((m) => m.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(pages.map((p) => p.length)).toEqual([1, 5, 5, 5]);
    expect(pages.flat()).toEqual(whole);
  });

  it('a rename answers with the version the context now has', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({});
    const renamed = await client.context.update.mutate({ contextId: context.id, title: 'New name' });
    const state = await client.context.state.query({ contextId: context.id });
    expect(renamed.context.version).toBe(state.version);
    expect(renamed.context.version).toBe(context.version + 1);
  });

  it('keeps everything across a server restart', async () => {
    const client = server.client();
    const { context } = await client.context.create.mutate({ title: 'Survivor' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'remember me' });
    await waitIdle(client, context.id);
    const before = await client.context.get.query({ contextId: context.id });

    await server.stop();
    server = await startServer({ databaseUrl });
    const after = await server.client().context.get.query({ contextId: context.id });
    expect(after.context.title).toBe('Survivor');
    expect(after.messages).toEqual(before.messages);
    expect(after.state.lastEventSeq).toBe(before.state.lastEventSeq);
  });
});
