import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../packages/api/src/config.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { errorOf, startServer, waitIdle, type Client, type TestServer } from '../support/server.ts';

/**
 * The limits of a run (DESIGN §13) and what a client sees of a failure, over
 * HTTP. Each server has its own database: instances on one database run each
 * other's runs, and these are configured differently.
 */
let local: TestServer; // /long clamped to 300 words; tools take 200 ms, well within their limit
let tight: TestServer; // output 50 tokens; tools hang (60 s) past their 300 ms limit
let remote: TestServer; // an openai-compatible provider only (LOCAL_MODEL=off), 2 tool rounds per run
let llm: FakeOpenAI;

beforeAll(async () => {
  llm = await startFakeOpenAI();
  const [a, b, c] = await Promise.all([createTestDatabase(), createTestDatabase(), createTestDatabase()]);
  [local, tight, remote] = await Promise.all([
    startServer({ databaseUrl: a, env: { LOCAL_MODEL_MAX_WORDS: '300', LOCAL_MODEL_TOKEN_DELAY_MS: '3', TOOL_DELAY_MS: '200', TOOL_TIMEOUT_MS: '5000' } }),
    startServer({ databaseUrl: b, env: { MAX_OUTPUT_TOKENS: '50', TOOL_DELAY_MS: '60000', TOOL_TIMEOUT_MS: '300' } }),
    startServer({
      databaseUrl: c,
      env: { LOCAL_MODEL: 'off', LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: llm.baseURL, LLM_MODEL: 'fake-llama', MAX_TOOL_ROUNDS: '2' },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([local?.stop(), tight?.stop(), remote?.stop()]);
  await llm?.close();
});

async function turn(client: Client, content: string, opts: { model?: string } = {}) {
  const { context } = await client.context.create.mutate(opts);
  const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content });
  const state = await waitIdle(client, context.id);
  const { messages } = await client.context.get.query({ contextId: context.id });
  const [run] = await client.run.list.query({ contextId: context.id });
  const reply = messages.filter((m) => m.role === 'assistant').at(-1);
  const text = reply ? reply.parts.map((p) => (p.type === 'text' ? p.text : '')).join('') : '';
  return { context, sent, state, messages, run: run!, reply, text };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('/long N is clamped (LOCAL_MODEL_MAX_WORDS) and made lazily', () => {
  it('/long 999999999 streams exactly 300 words while health answers in < 1 s', async () => {
    const client = local.client('limits-long');
    const { context } = await client.context.create.mutate({});
    await client.chat.sendMessage.mutate({ contextId: context.id, content: '/long 999999999' });
    const health = local.client('limits-long');
    let slowest = 0;
    let checks = 0;
    for (;;) {
      const started = Date.now();
      const h = await health.system.health.query();
      slowest = Math.max(slowest, Date.now() - started);
      checks++;
      expect(h.ok).toBe(true);
      const s = await client.context.state.query({ contextId: context.id });
      if (s.state.type === 'Idle') break;
    }
    expect(slowest).toBeLessThan(1000);
    expect(checks).toBeGreaterThan(1);
    const { messages } = await client.context.get.query({ contextId: context.id });
    const reply = messages.at(-1)!;
    expect(reply.status).toBe('complete');
    expect(words((reply.parts[0] as { text: string }).text)).toHaveLength(300);
  });

  it('under the clamp, /long N is exactly N words', async () => {
    const { text, run } = await turn(local.client('limits-long'), 'tell me /long 40');
    expect(run.status).toBe('completed');
    expect(words(text)).toHaveLength(40);
  });
});

describe('model output per run (MAX_OUTPUT_TOKENS)', () => {
  it('a reply that reaches the limit stops there: the run ends OUTPUT_LIMIT with the text kept', async () => {
    const { text, run, state } = await turn(tight.client('limits-output'), 'go /long 200');
    expect(words(text)).toHaveLength(50);
    expect(run.status).toBe('error');
    expect(run.error).toEqual({ code: 'OUTPUT_LIMIT', message: 'The reply reached the output limit (50 tokens) and was cut short.' });
    expect(state.lastError?.code).toBe('OUTPUT_LIMIT');
  });

  it('a reply within the limit completes', async () => {
    const { text, run, state } = await turn(tight.client('limits-output'), 'go /long 30');
    expect([run.status, run.error, state.lastError]).toEqual(['completed', null, null]);
    expect(words(text)).toHaveLength(30);
  });
});

describe('time per tool call (TOOL_TIMEOUT_MS)', () => {
  it('a tool that hangs is aborted at its timeout; the model gets the error and the run completes', async () => {
    const started = Date.now();
    const { text, run } = await turn(tight.client('limits-tools'), '/tool calculate {"expression":"1+2"}');
    expect(run.status).toBe('completed');
    expect(text).toBe('Tool calculate failed: {"error":"calculate timed out after 300 ms"}');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a tool within its time limit answers', async () => {
    const { text, run } = await turn(local.client('limits-tools'), '/tool calculate {"expression":"1+2"}');
    expect(run.status).toBe('completed');
    expect(text).toMatch(/^Tool calculate returned: .*"value":3/);
  });
});

describe('tool rounds per run (MAX_TOOL_ROUNDS)', () => {
  it('a model that keeps calling tools is stopped after the limit with TOOL_ROUNDS_EXCEEDED', async () => {
    const { run, messages, state } = await turn(remote.client('limits-rounds'), '/tool-loop calculate {"expression":"2*3"}');
    expect(run.status).toBe('error');
    expect(run.error?.code).toBe('TOOL_ROUNDS_EXCEEDED');
    expect(run.error?.message).toMatch(/more than 2 tool rounds/);
    expect(state.lastError?.code).toBe('TOOL_ROUNDS_EXCEEDED');
    expect(messages.filter((m) => m.role === 'tool')).toHaveLength(2);
  });

  it('a run within the limit completes', async () => {
    const { run, text } = await turn(remote.client('limits-rounds'), '/tool calculate {"expression":"2*3"}');
    expect(run.status).toBe('completed');
    expect(text).toMatch(/^Tool result: .*"value":6/);
  });
});

describe('LOCAL_MODEL=off', () => {
  it('takes the local model out: local:* is BAD_REQUEST UNKNOWN_MODEL, remote models work', async () => {
    const client = remote.client('limits-local-off');
    expect(await errorOf(client.context.create.mutate({ model: 'local:scripted' }))).toMatchObject({
      code: 'BAD_REQUEST',
      appCode: 'UNKNOWN_MODEL',
    });
    const { run, text } = await turn(client, 'hello');
    expect([run.status, text]).toEqual(['completed', 'You said: "hello"']);
    // system.models says so: the remote default, no local model.
    expect(await client.system.models.query()).toEqual({
      default: 'openai-compatible:fake-llama',
      models: ['openai-compatible:fake-llama'],
      providers: ['openai-compatible'],
    });
    expect((await local.client('limits-models').system.models.query()).models).toContain('local:scripted');
  });

  it('is a configuration error together with LLM_PROVIDER=local', () => {
    expect(() => loadConfig({ LOCAL_MODEL: 'off' })).toThrow(/^Invalid configuration: LOCAL_MODEL is off, but LLM_PROVIDER is local/);
    expect(loadConfig({ LOCAL_MODEL: 'off', LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: 'http://x.test/v1', LLM_MODEL: 'm' }).LOCAL_MODEL).toBe('off');
  });
});

describe('what a client sees of a failure', () => {
  it('a provider failure is a category and a safe sentence: no provider text, no host, no lease', async () => {
    const client = remote.client('limits-errors');
    for (let i = 0; i < 3; i++) llm.failNext(500); // the SDK retries twice
    const { context, run, state, sent } = await turn(client, 'fail please');
    const expected = { code: 'MODEL_UNAVAILABLE', message: 'The model is not available right now; try again later.' };
    expect(state.lastError).toEqual(expected);
    expect(run.error).toEqual(expected);
    const got = await client.context.get.query({ contextId: context.id });
    const latest = await client.run.latest.query({ contextId: context.id });
    const { events } = await client.events.list.query({ contextId: context.id });
    expect(got.context.lastError).toEqual(expected);
    expect(events.find((e) => e.type === 'run.failed')?.payload).toMatchObject({ error: expected });
    const everything = JSON.stringify([got, latest, events, sent, await client.context.list.query()]);
    expect(remote.output()).toContain('fake failure'); // the detail is in the server's log only
    for (const secret of ['fake failure', 'server_error', '127.0.0.1', 'localhost', 'leaseOwner', 'leaseExpiresAt', 'stack']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('a run in progress shows no lease either', async () => {
    const client = tight.client('limits-errors');
    const { context } = await client.context.create.mutate({});
    const sent = await client.chat.sendMessage.mutate({ contextId: context.id, content: '/tool calculate {"expression":"1"}' });
    expect(sent.run).not.toHaveProperty('leaseOwner');
    const state = await client.context.state.query({ contextId: context.id });
    expect(JSON.stringify(state)).not.toContain('lease');
    await waitIdle(client, context.id);
  });

  it('NUL characters in model output are removed before they are stored', async () => {
    const { run, text } = await turn(remote.client('limits-nul'), 'hi /nul');
    expect(run.status).toBe('completed');
    expect(text).toBe('You said: "hi /nul"');
    // Tool arguments too: the local model passes the JSON's \u0000 on as a NUL character.
    const tool = await turn(local.client('limits-nul'), '/tool calculate {"expression":"1+2\\u0000"}');
    expect(tool.run.status).toBe('completed');
    expect(tool.text).toMatch(/^Tool calculate returned: .*"expression":"1\+2"/);
    expect(tool.messages.some((m) => JSON.stringify(m).includes('\\u0000') && m.role !== 'user')).toBe(false);
  });
});
