import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { sql } from '../support/sql.ts';
import { startServer, waitFor, waitIdle, type TestServer } from '../support/server.ts';
import { subscribe } from '../support/subscribe.ts';

let databaseUrl: string;
let server: TestServer;
let llm: FakeOpenAI;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  llm = await startFakeOpenAI();
  server = await startServer({
    databaseUrl,
    env: { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: llm.baseURL, LLM_API_KEY: 'test-key', LLM_MODEL: 'fake-llama' },
  });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

describe('the openai-compatible provider against a server speaking the wire format', () => {
  it('streams a reply into the same persisted turn as the local model', async () => {
    const client = server.client('oai');
    const { context } = await client.context.create.mutate({ systemPrompt: 'Be brief.' });
    expect(context.model).toBe('openai-compatible:fake-llama');
    const live = subscribe(server.client('oai'), context.id, '0');
    await waitFor(async () => live.started && live.events().length >= 2, { what: 'the subscription' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'Hello!' });
    await waitIdle(client, context.id);
    const { messages } = await client.context.get.query({ contextId: context.id });
    expect(messages.map((m) => [m.role, m.status, m.parts])).toEqual([
      ['user', 'complete', [{ type: 'text', text: 'Hello!' }]],
      ['assistant', 'complete', [{ type: 'text', text: 'You said: "Hello!"' }]],
    ]);
    await live.until((i) => i.kind === 'event' && i.type === 'run.completed');
    // Streamed: text arrived as deltas before the completion (the fake server sends every chunk at once,
    // so DELTA_FLUSH_MS coalesces them: the first goes out alone, the rest ride on the completing save).
    const kinds = live.items.map((i) => (i.data.kind === 'event' ? i.data.type : i.data.type));
    expect(kinds.indexOf('message.delta')).toBeGreaterThan(-1);
    expect(kinds.indexOf('message.delta')).toBeLessThan(kinds.indexOf('message.completed'));
    expect(live.anomalies).toEqual([]);
    const request = llm.requests.at(-1)!;
    expect(request.stream).toBe(true);
    expect(request.model).toBe('fake-llama');
    expect(request.authorization).toBe('Bearer test-key');
    expect(request.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(request.tools?.map((t) => t.function.name).sort()).toEqual(['calculate', 'get_current_time', 'save_note']);
    live.close();
  });

  it('a streamed tool call goes through approval and its result back to the model, in the same run', async () => {
    const client = server.client('oai');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool save_note {"title":"From OpenAI","body":"hi"}' });
    const state = await waitFor(async () => {
      const s = await client.context.state.query({ contextId: context.id });
      return s.state.type === 'AwaitingToolApproval' ? s : null;
    });
    expect(state.pendingToolCalls).toEqual([{ id: expect.stringMatching(/^tool_/), name: 'save_note', args: { title: 'From OpenAI', body: 'hi' } }]);
    await client.chat.approveTools.mutate({
      contextId: context.id,
      runId: sent.run.id,
      decisions: [{ toolCallId: state.pendingToolCalls[0]!.id, approve: true }],
    });
    await waitIdle(client, context.id);
    const notes = await sql(databaseUrl, `SELECT title FROM "Note" WHERE "contextId" = $1`, [context.id]);
    expect(notes).toEqual([{ title: 'From OpenAI' }]);

    // The continuation request carried the assistant's tool call and the tool result.
    const continuation = llm.requests.at(-1)!;
    const assistant = continuation.messages.find((m) => m.role === 'assistant');
    expect(assistant?.tool_calls).toEqual([
      expect.objectContaining({ id: state.pendingToolCalls[0]!.id, function: expect.objectContaining({ name: 'save_note' }) }),
    ]);
    const toolMessage = continuation.messages.at(-1)!;
    expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: state.pendingToolCalls[0]!.id });
    expect(String(toolMessage.content)).toContain('"saved":true');

    const { messages } = await client.context.get.query({ contextId: context.id });
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(messages.every((m) => m.runId === sent.run.id)).toBe(true);
    const finalText = (messages.at(-1)!.parts[0] as { text: string }).text;
    expect(finalText).toMatch(/^Tool result: .*"saved":true/);
  });

  it('a provider failure ends the run in error with lastError, and the context takes new messages', async () => {
    const client = server.client('oai');
    const { context } = await client.context.create.mutate({});
    for (let i = 0; i < 3; i++) llm.failNext(500); // the SDK retries twice
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: 'fail please' });
    const state = await waitIdle(client, context.id);
    expect(state.lastError).toBeTruthy();
    const runs = await client.run.list.query({ contextId: context.id });
    expect(runs.find((r) => r.id === sent.run.id)).toMatchObject({ status: 'error' });
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'again' });
    await waitIdle(client, context.id);
    const { messages } = await client.context.get.query({ contextId: context.id });
    expect((messages.at(-1)!.parts[0] as { text: string }).text).toBe('You said: "again"');
  });
});

describe('the openai provider (chat completions), beside an instance configured differently', () => {
  it('answers through the OpenAI SDK provider with the key sent as a bearer token', async () => {
    // On the same database as the openai-compatible server above, which cannot run `openai:*`
    // models: it must leave this chat's runs to the instance that can.
    const openai = await startServer({
      databaseUrl,
      env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.baseURL, LLM_API_KEY: 'sk-test', LLM_MODEL: 'gpt-test' },
    });
    onTestFinished(() => openai.stop());
    const client = openai.client('oai-2');
    const { context } = await client.context.create.mutate({});
    expect(context.model).toBe('openai:gpt-test');
    await client.chat.sendMessage.mutate({ contextId: context.id, content: 'Hi OpenAI' });
    await waitIdle(client, context.id);
    const { messages } = await client.context.get.query({ contextId: context.id });
    expect((messages.at(-1)!.parts[0] as { text: string }).text).toBe('You said: "Hi OpenAI"');
    expect(llm.requests.at(-1)).toMatchObject({ model: 'gpt-test', authorization: 'Bearer sk-test' });
  });
});
