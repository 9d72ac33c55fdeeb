import { describe, expect, it } from 'vitest';
import { generateText, streamText, tool, type ModelMessage, type TextStreamPart, type ToolSet } from 'ai';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { z } from 'zod';
import { createLocalModel } from './local-model.ts';

const tools = {
  save_note: tool({
    description: 'Save a note',
    inputSchema: z.object({ title: z.string(), body: z.string() }),
  }),
  get_current_time: tool({ description: 'Current time', inputSchema: z.object({}) }),
};

const fast = () => createLocalModel({ tokenDelayMs: 0 });

type Collected = {
  deltas: string[];
  types: string[];
  errors: unknown[];
  toolCalls: Array<{ toolCallId: string; toolName: string; input: unknown }>;
  finishReason?: string;
  abortParts: number;
};

// Generic over the tool set (StreamTextResult<ToolSet> does not accept a concrete tool set).
async function collect<T extends { fullStream: AsyncIterable<TextStreamPart<ToolSet>> }>(result: T): Promise<Collected> {
  const c: Collected = { deltas: [], types: [], errors: [], toolCalls: [], abortParts: 0 };
  for await (const part of result.fullStream) {
    c.types.push(part.type);
    if (part.type === 'text-delta') c.deltas.push(part.text);
    else if (part.type === 'error') c.errors.push(part.error);
    else if (part.type === 'tool-call')
      c.toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
    else if (part.type === 'finish') c.finishReason = part.finishReason;
    else if (part.type === 'abort') c.abortParts++;
  }
  return c;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('local model through streamText', () => {
  it('replies exactly `You said: "T"`, word by word', async () => {
    const r = streamText({ model: fast(), prompt: 'hello there,  world' });
    const c = await collect(r);
    const expected = 'You said: "hello there,  world"';
    expect(c.deltas.join('')).toBe(expected);
    expect(c.deltas).toEqual(['You ', 'said: ', '"hello ', 'there,  ', 'world"']);
    expect(await r.text).toBe(expected);
    expect(c.finishReason).toBe('stop');
    expect(c.errors).toEqual([]);
    expect(c.types[0]).toBe('start');
    expect(c.types).toContain('text-start');
    expect(c.types).toContain('text-end');
    const usage = await r.totalUsage;
    expect(usage.outputTokens).toBe(5);
    expect(usage.inputTokens).toBeGreaterThan(0);
  });

  it('/echo TEXT replies with TEXT exactly, newlines included, word by word; no other rule applies', async () => {
    const text = '# Title\n\n- **one** /tool calculate {}\n- two /fail\n\n```ts\nconst x = 1;\n```';
    const r = streamText({ model: fast(), prompt: `/echo ${text}` });
    const c = await collect(r);
    expect(c.deltas.join('')).toBe(text);
    expect(c.deltas.length).toBeGreaterThan(5);
    expect(c.finishReason).toBe('stop');
    expect(c.errors).toEqual([]);
    expect(await r.text).toBe(text);
    // Not at the start: an ordinary message.
    expect(await streamText({ model: fast(), prompt: 'say /echo hi' }).text).toBe('You said: "say /echo hi"');
  });

  it('uses the last user message of a conversation', async () => {
    const messages: ModelMessage[] = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'You said: "first"' },
      { role: 'user', content: [{ type: 'text', text: 'second one' }] },
    ];
    const r = streamText({ model: fast(), system: 'be nice', messages });
    expect(await r.text).toBe('You said: "second one"');
  });

  it('/long 50 gives exactly 50 words, starting with the You said part', async () => {
    const r = streamText({ model: fast(), prompt: 'tell me more /long 50' });
    const c = await collect(r);
    const text = c.deltas.join('');
    expect(text.startsWith('You said: "tell me more /long 50"')).toBe(true);
    expect(words(text)).toHaveLength(50);
    expect(c.deltas).toHaveLength(50);
    expect(await r.text).toBe(text);
  });

  it('/long N is clamped to maxWords and made lazily (a huge N answers at once)', async () => {
    const started = Date.now();
    const r = streamText({ model: createLocalModel({ tokenDelayMs: 0, maxWords: 300 }), prompt: 'go /long 999999999' });
    const c = await collect(r);
    expect(words(c.deltas.join(''))).toHaveLength(300);
    expect(c.deltas.at(-1)).toBe('word295');
    expect(c.finishReason).toBe('stop');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('maxOutputTokens stops the reply after that many words, finish reason length, no tool calls', async () => {
    const c = await collect(streamText({ model: fast(), prompt: 'go /long 40', maxOutputTokens: 10 }));
    expect(c.deltas).toHaveLength(10);
    expect(c.finishReason).toBe('length');
    const t = await collect(streamText({ model: fast(), tools, prompt: '/tool get_current_time {}', maxOutputTokens: 1 }));
    expect(t.toolCalls).toEqual([]);
    expect(t.finishReason).toBe('length');
    const under = await generateText({ model: fast(), prompt: 'go /long 40', maxOutputTokens: 40 });
    expect(under.finishReason).toBe('stop');
    const over = await generateText({ model: fast(), prompt: 'go /long 40', maxOutputTokens: 5 });
    expect([words(over.text).length, over.finishReason]).toEqual([5, 'length']);
  });

  it('/long N smaller than the You said part gives just the You said part', async () => {
    const r = streamText({ model: fast(), prompt: 'a b c d /long 3' });
    expect(await r.text).toBe('You said: "a b c d /long 3"');
  });

  it('/fail streams a few words then surfaces an error via fullStream and onError', async () => {
    const onErrorCalls: unknown[] = [];
    const r = streamText({
      model: fast(),
      prompt: 'please /fail now',
      onError: (e) => {
        onErrorCalls.push(e.error);
      },
    });
    const c = await collect(r);
    expect(c.deltas.length).toBeGreaterThan(0);
    expect(c.deltas.length).toBeLessThanOrEqual(3);
    expect(c.errors).toHaveLength(1);
    expect((c.errors[0] as Error).message).toBe('local model failure (/fail)');
    expect(onErrorCalls).toHaveLength(1);
    expect((onErrorCalls[0] as Error).message).toBe('local model failure (/fail)');
    // no finish part from the model: streamText reports finish reason 'error'
    expect(c.finishReason).toBe('error');
    expect(c.types.indexOf('error')).toBeGreaterThan(c.types.lastIndexOf('text-delta'));
  });

  it('/tool NAME {json} yields a tool call with the parsed input and finish reason tool-calls', async () => {
    const r = streamText({ model: fast(), tools, prompt: '/tool save_note {"title":"a","body":"b"}' });
    const c = await collect(r);
    expect(c.toolCalls).toHaveLength(1);
    expect(c.toolCalls[0]!.toolName).toBe('save_note');
    expect(c.toolCalls[0]!.input).toEqual({ title: 'a', body: 'b' });
    expect(c.toolCalls[0]!.toolCallId).toMatch(/\S/);
    expect(c.finishReason).toBe('tool-calls');
    expect(await r.text).toBe('Calling save_note.');
    expect((await r.toolCalls).map((t) => t.toolName)).toEqual(['save_note']);
    expect(c.errors).toEqual([]);
  });

  it('two /tool lines give two calls with unique ids in one step', async () => {
    const prompt = 'do both\n/tool save_note {"title":"a","body":"b"}\n/tool save_note {"title":"c","body":"d"}';
    const r = streamText({ model: fast(), tools, prompt });
    const c = await collect(r);
    expect(c.toolCalls.map((t) => t.input)).toEqual([
      { title: 'a', body: 'b' },
      { title: 'c', body: 'd' },
    ]);
    expect(new Set(c.toolCalls.map((t) => t.toolCallId)).size).toBe(2);
    expect((await r.steps).length).toBe(1);
    expect(c.finishReason).toBe('tool-calls');
  });

  it('tool call ids are unique across calls', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = streamText({ model: fast(), tools, prompt: 'what time is it' });
      for (const t of await r.toolCalls) ids.add(t.toolCallId);
    }
    expect(ids.size).toBe(5);
  });

  it('invalid JSON after /tool is passed through so the SDK reports invalid input', async () => {
    const r = streamText({ model: fast(), tools, prompt: '/tool save_note {"title":' });
    const c = await collect(r);
    expect(c.toolCalls).toHaveLength(1);
    expect(c.toolCalls[0]!.input).toBe('{"title":');
    expect(c.types).toContain('tool-error');
  });

  it('"what time is it" calls get_current_time with {}', async () => {
    const r = streamText({ model: fast(), tools, prompt: 'What TIME is it?' });
    const c = await collect(r);
    expect(c.toolCalls).toHaveLength(1);
    expect(c.toolCalls[0]!.toolName).toBe('get_current_time');
    expect(c.toolCalls[0]!.input).toEqual({});
    expect(c.finishReason).toBe('tool-calls');
  });

  it('"time" must be a whole word', async () => {
    const r = streamText({ model: fast(), tools, prompt: 'a timeout happened' });
    const c = await collect(r);
    expect(c.toolCalls).toHaveLength(0);
    expect(c.finishReason).toBe('stop');
  });

  it('after tool results it replies quoting each result and calls no tool', async () => {
    const model = fast();
    const first = streamText({ model, tools, prompt: 'what time is it' });
    const [call] = await first.toolCalls;
    expect(call).toBeDefined();
    const messages: ModelMessage[] = [
      { role: 'user', content: 'what time is it' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: call!.toolCallId, toolName: call!.toolName, input: call!.input }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: call!.toolCallId,
            toolName: call!.toolName,
            output: { type: 'json', value: { iso: '2024-01-01T00:00:00Z' } },
          },
        ],
      },
    ];
    const r = streamText({ model, tools, messages });
    const c = await collect(r);
    expect(c.deltas.join('')).toBe('Tool get_current_time returned: {"iso":"2024-01-01T00:00:00Z"}');
    expect(c.deltas.length).toBeGreaterThan(1);
    expect(c.toolCalls).toHaveLength(0);
    expect(c.finishReason).toBe('stop');
  });

  it('acknowledges denials (execution-denied and json {denied:true}) and quotes approved results', async () => {
    const messages: ModelMessage[] = [
      { role: 'user', content: '/tool save_note {"title":"a","body":"b"}\n/tool save_note {"title":"c","body":"d"}\n/tool save_note {"title":"e","body":"f"}' },
      {
        role: 'assistant',
        content: [
          { type: 'tool-call', toolCallId: 'c1', toolName: 'save_note', input: { title: 'a', body: 'b' } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'save_note', input: { title: 'c', body: 'd' } },
          { type: 'tool-call', toolCallId: 'c3', toolName: 'save_note', input: { title: 'e', body: 'f' } },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'c1', toolName: 'save_note', output: { type: 'json', value: { id: 'n1' } } },
          {
            type: 'tool-result',
            toolCallId: 'c2',
            toolName: 'save_note',
            output: { type: 'execution-denied', reason: 'user said no' },
          },
          {
            type: 'tool-result',
            toolCallId: 'c3',
            toolName: 'save_note',
            output: { type: 'json', value: { denied: true, reason: 'not today' } },
          },
        ],
      },
    ];
    const r = streamText({ model: fast(), tools, messages });
    const c = await collect(r);
    expect(await r.text).toBe(
      'Tool save_note returned: {"id":"n1"} Tool save_note was denied: user said no Tool save_note was denied: not today',
    );
    expect(c.toolCalls).toHaveLength(0);
    expect(c.finishReason).toBe('stop');
  });

  it('error-text output is acknowledged as a denial', async () => {
    const messages: ModelMessage[] = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'save_note', input: {} }] },
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'save_note', output: { type: 'error-text', value: 'denied by user' } }],
      },
    ];
    const r = streamText({ model: fast(), tools, messages });
    expect(await r.text).toBe('Tool save_note was denied: denied by user');
  });

  it('abort mid-stream stops quickly with an abort part', async () => {
    const ac = new AbortController();
    const r = streamText({ model: createLocalModel({ tokenDelayMs: 20 }), prompt: 'go /long 500', abortSignal: ac.signal });
    const deltas: string[] = [];
    const types: string[] = [];
    let abortedAt = 0;
    for await (const part of r.fullStream) {
      types.push(part.type);
      if (part.type === 'text-delta') {
        deltas.push(part.text);
        if (deltas.length === 3) {
          ac.abort();
          abortedAt = performance.now();
        }
      }
    }
    const stoppedAfter = performance.now() - abortedAt;
    expect(types.at(-1)).toBe('abort');
    expect(types).not.toContain('finish');
    expect(types).not.toContain('error');
    expect(deltas.length).toBeLessThan(6);
    expect(stoppedAfter).toBeLessThan(200);
    await expect(r.text).rejects.toThrow();
  });

  it('an already-aborted signal yields an abort part and no text', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = streamText({ model: fast(), prompt: 'hello', abortSignal: ac.signal });
    const c = await collect(r);
    expect(c.deltas).toEqual([]);
    expect(c.abortParts).toBe(1);
  });

  it('respects tokenDelayMs between deltas', async () => {
    const delay = 25;
    const r = streamText({ model: createLocalModel({ tokenDelayMs: delay }), prompt: 'one two three' });
    const start = performance.now();
    const c = await collect(r);
    const elapsed = performance.now() - start;
    expect(c.deltas).toHaveLength(5);
    expect(elapsed).toBeGreaterThanOrEqual(delay * (c.deltas.length - 1) * 0.8);
  });
});

describe('local model directly / non-streaming', () => {
  it('generateText (doGenerate) returns the full text and tool calls', async () => {
    const plain = await generateText({ model: fast(), prompt: 'hi /long 10' });
    expect(words(plain.text)).toHaveLength(10);
    expect(plain.text.startsWith('You said: "hi /long 10"')).toBe(true);
    expect(plain.finishReason).toBe('stop');

    const withTools = await generateText({ model: fast(), tools, prompt: '/tool save_note {"title":"a","body":"b"}' });
    expect(withTools.finishReason).toBe('tool-calls');
    expect(withTools.toolCalls.map((t) => [t.toolName, t.input])).toEqual([['save_note', { title: 'a', body: 'b' }]]);
    expect(withTools.text).toBe('Calling save_note.');

    await expect(generateText({ model: fast(), prompt: '/fail', maxRetries: 0 })).rejects.toThrow(
      'local model failure (/fail)',
    );
  });

  it('emits well-formed V3 stream parts', async () => {
    const model = fast();
    expect(model.specificationVersion).toBe('v3');
    expect(model.modelId).toBe('local');
    expect(createLocalModel({ tokenDelayMs: 0, modelId: 'local-x' }).modelId).toBe('local-x');
    const { stream } = await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'what time' }] }],
    });
    const parts: LanguageModelV3StreamPart[] = [];
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    expect(parts[0]!.type).toBe('stream-start');
    const textIds = new Set(
      parts.flatMap((p) => (p.type === 'text-start' || p.type === 'text-delta' || p.type === 'text-end' ? [p.id] : [])),
    );
    expect(textIds.size).toBe(1);
    const call = parts.find((p) => p.type === 'tool-call');
    expect(call).toMatchObject({ type: 'tool-call', toolName: 'get_current_time', input: '{}' });
    const finish = parts.at(-1)!;
    expect(finish).toMatchObject({
      type: 'finish',
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage: {
        inputTokens: { total: 2, noCache: 2, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: expect.any(Number), text: expect.any(Number), reasoning: 0 },
      },
    });
  });
});
