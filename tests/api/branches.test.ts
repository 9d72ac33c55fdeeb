import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { errorOf, startServer, waitIdle, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ databaseUrl: await createTestDatabase() });
});
afterAll(async () => {
  await server?.stop();
});

const texts = (messages: { role: string; parts: unknown[] }[]) =>
  messages.map((m) => `${m.role}: ${(m.parts[0] as { text?: string } | undefined)?.text ?? ''}`);

describe('branches: editing and regenerating fork, switching shows each path', () => {
  it('an edit forks a branch from the edited message; the original branch is kept and can be switched back to', async () => {
    const client = server.client('branches');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'first' });
    await waitIdle(client, context.id);
    const second = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'second' });
    await waitIdle(client, context.id);
    const main = await client.context.get.query({ contextId: context.id });
    expect(texts(main.messages)).toEqual(['user: first', 'assistant: You said: "first"', 'user: second', 'assistant: You said: "second"']);

    const edited = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'second, edited', editOfMessageId: second.message.id });
    await waitIdle(client, context.id);
    const fork = await client.context.get.query({ contextId: context.id });
    expect(fork.branches).toHaveLength(2);
    expect(fork.branch).toMatchObject({ forkedFromMessageId: second.message.id });
    expect(edited.message.branchId).toBe(fork.branch!.id);
    expect(texts(fork.messages)).toEqual([
      'user: first',
      'assistant: You said: "first"',
      'user: second, edited',
      'assistant: You said: "second, edited"',
    ]);

    await client.context.switchBranch.mutate({ contextId: context.id, branchId: main.branch!.id });
    const back = await client.context.get.query({ contextId: context.id });
    expect(back.messages.map((m) => m.id)).toEqual(main.messages.map((m) => m.id));
    // Either branch can be read without switching.
    const other = await client.context.messages.query({ contextId: context.id, branchId: fork.branch!.id });
    expect(other.items.map((m) => m.id)).toEqual(fork.messages.map((m) => m.id));
  });

  it('regenerate answers the same message again on a new branch', async () => {
    const client = server.client('branches');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'again please' });
    await waitIdle(client, context.id);
    const before = await client.context.get.query({ contextId: context.id });
    const reply = before.messages.at(-1)!;
    const regenerated = await client.chat.regenerate.mutate({ contextId: context.id, messageId: reply.id });
    await waitIdle(client, context.id);
    const after = await client.context.get.query({ contextId: context.id });
    expect(after.branch!.id).toBe(regenerated.branchId);
    expect(after.messages[0]!.id).toBe(before.messages[0]!.id);
    expect(after.messages).toHaveLength(2);
    expect(after.messages[1]!.id).not.toBe(reply.id);
    expect(texts(after.messages)).toEqual(['user: again please', 'assistant: You said: "again please"']);
    expect(await errorOf(client.chat.regenerate.mutate({ contextId: context.id, messageId: before.messages[0]!.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await errorOf(client.context.switchBranch.mutate({ contextId: context.id, branchId: 'br_nope' }))).toMatchObject({
      code: 'NOT_FOUND',
      appCode: 'BRANCH_NOT_FOUND',
    });
  });
});
