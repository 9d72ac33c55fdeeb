import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { sql } from '../support/sql.ts';
import { errorOf, startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';

let databaseUrl: string;
let server: TestServer;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
});
afterAll(async () => {
  await server?.stop();
});

const count = async (table: string, contextId: string) =>
  (await sql<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM "${table}" WHERE "contextId" = $1`, [contextId]))[0]!.n;

describe('idempotency keys', () => {
  it('100 concurrent sends with one key store one message and one run; 99 replay the same response', async () => {
    const client = server.client('idem-owner', { batch: false });
    const { context } = await client.context.create.mutate({});
    const key = `key-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        client.chat.sendMessage.mutate({ contextId: context.id, content: 'only once', idempotencyKey: key }),
      ),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(results.filter((r) => r.replayed)).toHaveLength(99);
    const first = results.find((r) => !r.replayed)!;
    for (const r of results) {
      expect(r.message).toEqual(first.message);
      expect(r.run).toEqual(first.run);
    }
    expect(await count('Message', context.id)).toBeGreaterThanOrEqual(1);
    await waitIdle(client, context.id);
    const messages = await sql<{ role: string }>(databaseUrl, `SELECT role FROM "Message" WHERE "contextId" = $1`, [context.id]);
    expect(messages.filter((m) => m.role === 'user')).toHaveLength(1);
    expect(await count('Run', context.id)).toBe(1);
  });

  it('the same key with a different request is UNPROCESSABLE_CONTENT and writes nothing', async () => {
    const client = server.client('idem-owner');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'first', idempotencyKey: 'k-reuse' });
    await waitIdle(client, context.id);
    const events = await count('Event', context.id);
    const err = await errorOf(client.chat.sendMessage.mutate({ contextId: context.id, content: 'second', idempotencyKey: 'k-reuse' }));
    expect(err).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', appCode: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await count('Event', context.id)).toBe(events);
    const users = await sql(databaseUrl, `SELECT id FROM "Message" WHERE "contextId" = $1 AND role = 'user'`, [context.id]);
    expect(users).toHaveLength(1);
  });

  it('keys are scoped by owner and by procedure', async () => {
    const alice = server.client('alice');
    const bob = server.client('bob');
    const a = await alice.context.create.mutate({ title: 'A', idempotencyKey: 'shared' });
    const b = await bob.context.create.mutate({ title: 'B', idempotencyKey: 'shared' });
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(false);
    expect(a.context.id).not.toBe(b.context.id);
    const sent = await alice.chat.sendMessage.mutate({ contextId: a.context.id, content: 'hi', idempotencyKey: 'shared' });
    expect(sent.replayed).toBe(false);
    const again = await alice.context.create.mutate({ title: 'A', idempotencyKey: 'shared' });
    expect(again).toMatchObject({ replayed: true, context: { id: a.context.id } });
    await waitIdle(alice, a.context.id);
  });

  it('expired keys are purged and then act as new', async () => {
    // A second server on the same database, with a short TTL (the other tests need the default).
    const shortTtl = await startServer({ databaseUrl, env: { IDEMPOTENCY_TTL_MS: '1000', IDEMPOTENCY_PURGE_INTERVAL_MS: '200' } });
    onTestFinished(() => shortTtl.stop());
    const client = shortTtl.client('idem-ttl');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'before', idempotencyKey: 'k-ttl' });
    await waitFor(
      async () =>
        (await sql(databaseUrl, `SELECT 1 FROM "IdempotencyRecord" WHERE key = 'k-ttl'`)).length === 0,
      { what: 'the expired record to be purged', timeoutMs: 10_000 },
    );
    const after = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'after', idempotencyKey: 'k-ttl' });
    expect(after.replayed).toBe(false);
    await waitIdle(client, context.id);
    const users = await sql(databaseUrl, `SELECT id FROM "Message" WHERE "contextId" = $1 AND role = 'user'`, [context.id]);
    expect(users).toHaveLength(2);
  });

  it('a resent clientMessageId without a key is answered, never stored twice', async () => {
    const client = server.client('idem-owner', { batch: false });
    const { context } = await client.context.create.mutate({});
    const sends = await Promise.all(
      Array.from({ length: 10 }, () => client.chat.sendMessage.mutate({ contextId: context.id, content: 'once', clientMessageId: 'cm-1' })),
    );
    expect(new Set(sends.map((s) => s.message.id)).size).toBe(1);
    expect(sends.filter((s) => !s.replayed)).toHaveLength(1);
    await waitIdle(client, context.id);
    expect(await count('Run', context.id)).toBe(1);
  });

  it('replays other actions too: a retried cancel or rename changes nothing more', async () => {
    const client = server.client('idem-owner');
    const { context } = await client.context.create.mutate({});
    const first = await client.context.update.mutate({ contextId: context.id, title: 'Renamed', idempotencyKey: 'rename-1' });
    const events = await count('Event', context.id);
    const second = await client.context.update.mutate({ contextId: context.id, title: 'Renamed', idempotencyKey: 'rename-1' });
    expect(second.replayed).toBe(true);
    expect(second.context).toEqual(first.context);
    expect(await count('Event', context.id)).toBe(events);
  });
});
