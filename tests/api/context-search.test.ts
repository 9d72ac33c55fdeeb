import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startServer, waitIdle, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ databaseUrl: await createTestDatabase() });
});
afterAll(async () => {
  await server?.stop();
});

describe('context.list({ query }): searching chats by title and message text', () => {
  it("finds the owner's chats by title or by any message's text, case-insensitively, never another user's", async () => {
    const alice = server.client('search-alice');
    const bob = server.client('search-bob');
    const { context: byTitle } = await alice.context.create.mutate({ title: 'Quarterly Zebra report' });
    const { context: byMessage } = await alice.context.create.mutate({ title: 'Untitled thoughts' });
    await alice.chat.sendMessage.mutate({ contextId: byMessage.id, content: 'notes about the zebra crossing' });
    await waitIdle(alice, byMessage.id);
    const { context: other } = await alice.context.create.mutate({ title: 'Groceries' });
    await alice.chat.sendMessage.mutate({ contextId: other.id, content: 'milk and eggs' });
    await waitIdle(alice, other.id);
    // Bob's chat matches the same words in its title and its messages.
    const { context: bobs } = await bob.context.create.mutate({ title: 'zebra plans' });
    await bob.chat.sendMessage.mutate({ contextId: bobs.id, content: 'ZEBRA' });
    await waitIdle(bob, bobs.id);

    const found = await alice.context.list.query({ query: 'ZeBrA' });
    expect(found.items.map((c) => c.id).sort()).toEqual([byTitle.id, byMessage.id].sort());
    expect(found.nextCursor).toBeNull();
    // Same output shape as the plain list, newest activity first.
    const plain = await alice.context.list.query({});
    expect(Object.keys(found.items[0]!).sort()).toEqual(Object.keys(plain.items[0]!).sort());
    const order = plain.items.map((c) => c.id).filter((id) => id === byTitle.id || id === byMessage.id);
    expect(found.items.map((c) => c.id)).toEqual(order);

    // The reply's text is searched too (the local model quotes the message).
    expect((await alice.context.list.query({ query: 'You said: "milk' })).items.map((c) => c.id)).toEqual([other.id]);
    // Bob sees only his own chat; nothing of Alice's matches for him.
    expect((await bob.context.list.query({ query: 'zebra' })).items.map((c) => c.id)).toEqual([bobs.id]);
    expect((await bob.context.list.query({ query: 'milk' })).items).toEqual([]);
    expect((await bob.context.list.query({ query: 'Quarterly' })).items).toEqual([]);
    // A blank query lists everything, as before.
    expect((await alice.context.list.query({ query: '   ' })).items).toHaveLength(3);
  });

  it('treats % and _ as text, leaves deleted chats out, and pages through every match with the cursor', async () => {
    const carol = server.client('search-carol');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { context } = await carol.context.create.mutate({ title: `needle ${i} 100%_done` });
      ids.push(context.id);
    }
    await carol.context.create.mutate({ title: 'haystack 1000 done' });
    const { context: gone } = await carol.context.create.mutate({ title: 'needle deleted' });
    await carol.context.delete.mutate({ contextId: gone.id });

    expect((await carol.context.list.query({ query: '%' })).items).toHaveLength(7);
    expect((await carol.context.list.query({ query: '0%_d' })).items).toHaveLength(7);
    expect((await carol.context.list.query({ query: 'deleted' })).items).toEqual([]);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await carol.context.list.query({ query: 'needle', limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual([...ids].sort());
    // Newest first: the last created comes first.
    expect(seen[0]).toBe(ids.at(-1));
    // A cursor of someone else's chat (or none at all) gives nothing, never their data.
    const dave = server.client('search-dave');
    expect((await dave.context.list.query({ query: 'needle', cursor: ids[3]! })).items).toEqual([]);
  });
});
