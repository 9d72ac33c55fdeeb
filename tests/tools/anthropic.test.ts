import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';

let databaseUrl: string;
let server: TestServer;
let llm: FakeAnthropic;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  llm = await startFakeAnthropic();
  server = await startServer({
    databaseUrl,
    env: { LLM_PROVIDER: 'anthropic', LLM_BASE_URL: llm.baseURL, LLM_API_KEY: 'ant-test', LLM_MODEL: 'claude-test' },
  });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

describe('the anthropic provider against a server speaking the Messages API stream', () => {
  it('streams a reply, and a tool_use goes through approval and back as a tool_result', async () => {
    const client = server.client('ant');
    const { context } = await client.context.create.mutate({ systemPrompt: 'Be kind.' });
    expect(context.model).toBe('anthropic:claude-test');
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'Hello Claude' });
    await waitIdle(client, context.id);
    let { messages } = await client.context.get.query({ contextId: context.id });
    expect((messages.at(-1)!.parts[0] as { text: string }).text).toBe('You said: "Hello Claude"');
    const first = llm.requests[0]!;
    expect(first.headers['x-api-key']).toBe('ant-test');
    expect(first.body).toMatchObject({ model: 'claude-test', system: [{ type: 'text', text: 'Be kind.' }] });

    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"Claude","body":"x"}' });
    const state = await waitFor(async () => {
      const s = await client.context.state.query({ contextId: context.id });
      return s.state.type === 'AwaitingToolApproval' ? s : null;
    });
    expect(state.pendingToolCalls).toEqual([{ id: expect.any(String), name: 'save_note', args: { title: 'Claude', body: 'x' } }]);
    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: state.pendingToolCalls[0]!.id, approve: true }],
    });
    await waitIdle(client, context.id);
    expect(await sql(databaseUrl, `SELECT title FROM "Note" WHERE "contextId" = $1`, [context.id])).toEqual([{ title: 'Claude' }]);
    ({ messages } = await client.context.get.query({ contextId: context.id }));
    expect((messages.at(-1)!.parts[0] as { text: string }).text).toMatch(/^Tool result: .*saved/);
    const continuation = llm.requests.at(-1)!.body.messages.at(-1)!;
    expect(continuation.role).toBe('user');
    expect(continuation.content).toEqual([
      expect.objectContaining({ type: 'tool_result', tool_use_id: state.pendingToolCalls[0]!.id }),
    ]);
  });
});
