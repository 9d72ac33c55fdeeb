/**
 * The built-in deterministic `local` model (DESIGN.md §10).
 *
 * It implements the AI SDK's `LanguageModelV3` (`specificationVersion: 'v3'`),
 * so it runs through `streamText` / `generateText` exactly like a remote
 * model, with no network. Its behaviour is a public contract that tests and
 * demos rely on:
 *
 * Only the LAST prompt message matters.
 *
 * 1. Last message is a `user` message with text T (its text parts joined by
 *    "\n"; if the last message is neither user nor tool, the latest user
 *    message is used):
 *    - Default reply: exactly `You said: "T"` (T verbatim).
 *    - `/long N` anywhere in T: the reply has exactly N whitespace-separated
 *      words: the `You said: "T"` words, then filler `word1 word2 ...` up to N
 *      (never shorter than the `You said` part). N is clamped to `maxWords`
 *      (LOCAL_MODEL_MAX_WORDS, default 5,000), and the filler is made as it
 *      streams, so `/long 999999999` costs no more than `/long 5000`.
 *    - `/fail` in T: streams the first (up to) 3 words of the reply, then an
 *      `error` part `Error('local model failure (/fail)')`, then the stream
 *      closes (no `finish` part). `doGenerate` throws that error.
 *    - `/tool NAME {json}` (json = rest of that line, may be empty = `{}`):
 *      text `Calling NAME.` (one sentence per call, space-separated), then one
 *      `tool-call` part per `/tool` line, finish reason
 *      `{ unified: 'tool-calls', raw: 'tool_calls' }`. Valid JSON is re-encoded
 *      with JSON.stringify; invalid JSON is passed through raw as `input`, so
 *      the SDK reports the call as invalid (a `tool-error` part).
 *    - The word "time" (case-insensitive, whole word) and no `/tool`: calls
 *      `get_current_time` with `{}` the same way.
 *    - `/echo TEXT` (T starts with `/echo` and a space or newline): the reply
 *      is TEXT exactly as written, newlines included (demos and tests use it
 *      for Markdown); no other rule applies to it.
 *    Precedence: `/echo` > `/fail` > `/tool` > "time" > plain reply (+ `/long`).
 * 2. Last message is a `tool` message: one sentence per `tool-result` part,
 *    joined by a space, finish reason stop, never another tool call:
 *    - `Tool NAME returned: <JSON.stringify(value)>` for json/text/content;
 *    - `Tool NAME was denied: <reason>` for `execution-denied` outputs,
 *      `error-text` outputs (reason = the text) and json values with
 *      `denied: true` (reason = value.reason ?? value.message);
 *    - `Tool NAME failed: <JSON.stringify(value)>` for `error-json`.
 *
 * `options.maxOutputTokens`, when set, caps the words of any reply: a longer
 * one stops after that many, without its tool calls, with finish reason
 * `{ unified: 'length', raw: 'length' }` (a `/fail` reply still fails).
 *
 * Streaming: `stream-start`, `response-metadata`, `text-start {id}`, one
 * `text-delta {id, delta}` per word (the word plus its following whitespace,
 * so the deltas concatenate to the exact text), `text-end {id}`, the
 * `tool-call` parts, then `finish {finishReason: {unified, raw}, usage}`.
 * Deltas are `tokenDelayMs` apart (0 = no pause, but the event loop still
 * gets a turn between deltas). Aborting `options.abortSignal` errors the
 * stream with a DOMException named `AbortError`; streamText turns that into
 * an `abort` part on `fullStream` (and `await result.text` rejects).
 */
import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';

export interface LocalModelOptions {
  /** Pause between text deltas, in ms (LOCAL_MODEL_TOKEN_DELAY_MS, default 15 in config). */
  tokenDelayMs: number;
  /** Reported model id (default `local`). */
  modelId?: string;
  /** The most words `/long N` makes (LOCAL_MODEL_MAX_WORDS; default 5,000). */
  maxWords?: number;
}

export const LOCAL_FAILURE_MESSAGE = 'local model failure (/fail)';

interface PlannedToolCall {
  toolCallId: string;
  toolName: string;
  input: string;
}

interface Plan {
  /** The reply's deltas (each word with its following whitespace), made as they are read. */
  words: () => Iterable<string>;
  toolCalls: PlannedToolCall[];
  /** Number of words to emit before failing (only with /fail). */
  failAfterWords?: number;
}

let toolCallCounter = 0;
function newToolCallId(): string {
  toolCallCounter += 1;
  return `call_local_${toolCallCounter}_${randomUUID().slice(0, 8)}`;
}

/** Splits text into deltas: each word with its following whitespace (leading whitespace joins the first). */
export function splitWords(text: string): string[] {
  const parts = text.match(/\S+\s*/g) ?? [];
  const lead = /^\s*/.exec(text)?.[0] ?? '';
  if (parts.length === 0) return text.length > 0 ? [text] : [];
  if (lead) parts[0] = lead + parts[0];
  return parts;
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

function userText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p): p is { type: 'text'; text: string } => p?.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

function parseToolLines(text: string): PlannedToolCall[] {
  const calls: PlannedToolCall[] = [];
  const re = /(?:^|\s)\/tool[ \t]+([^\s{[]+)[ \t]*(.*)$/gm;
  for (const m of text.matchAll(re)) {
    const toolName = m[1] ?? '';
    const raw = (m[2] ?? '').trim();
    let input: string;
    if (raw === '') {
      input = '{}';
    } else {
      try {
        input = JSON.stringify(JSON.parse(raw));
      } catch {
        input = raw; // invalid JSON: passed through so the caller reports invalid arguments
      }
    }
    calls.push({ toolCallId: newToolCallId(), toolName, input });
  }
  return calls;
}

function describeResult(toolName: string, output: LanguageModelV3ToolResultOutput): string {
  switch (output.type) {
    case 'execution-denied':
      return `Tool ${toolName} was denied: ${output.reason ?? 'no reason given'}`;
    case 'error-text':
      return `Tool ${toolName} was denied: ${output.value}`;
    case 'error-json':
      return `Tool ${toolName} failed: ${JSON.stringify(output.value)}`;
    case 'json': {
      const v = output.value as Record<string, unknown> | null;
      if (v && typeof v === 'object' && !Array.isArray(v) && v.denied === true) {
        const reason = v.reason ?? v.message;
        return `Tool ${toolName} was denied: ${typeof reason === 'string' ? reason : reason === undefined ? 'no reason given' : JSON.stringify(reason)}`;
      }
      return `Tool ${toolName} returned: ${JSON.stringify(output.value)}`;
    }
    case 'text':
      return `Tool ${toolName} returned: ${JSON.stringify(output.value)}`;
    default:
      return `Tool ${toolName} returned: ${JSON.stringify((output as { value?: unknown }).value ?? null)}`;
  }
}

const wordsOf = (text: string) => () => splitWords(text);

/** `base`'s words, then `word1 word2 ...` until there are `n` words. */
function* longReply(base: string, n: number): Generator<string> {
  const head = splitWords(base);
  const filler = n - head.length;
  for (let i = 0; i < head.length; i++) yield i === head.length - 1 && filler > 0 ? `${head[i]} ` : head[i]!;
  for (let i = 1; i <= filler; i++) yield i < filler ? `word${i} ` : `word${i}`;
}

/** Up to `limit` words of the reply, and whether it had more. */
function takeWords(plan: Plan, limit: number): { words: string[]; truncated: boolean } {
  const words: string[] = [];
  for (const w of plan.words()) {
    if (words.length >= limit) return { words, truncated: true };
    words.push(w);
  }
  return { words, truncated: false };
}

function makePlan(prompt: LanguageModelV3Prompt, maxWords: number): Plan {
  const last = prompt[prompt.length - 1];
  if (last?.role === 'tool') {
    const sentences = last.content
      .filter((p) => p.type === 'tool-result')
      .map((p) => describeResult(p.toolName, p.output));
    return { words: wordsOf(sentences.length > 0 ? sentences.join(' ') : 'No tool results.'), toolCalls: [] };
  }

  let T = '';
  for (let i = prompt.length - 1; i >= 0; i--) {
    const m = prompt[i];
    if (m?.role === 'user') {
      T = userText(m.content);
      break;
    }
  }

  // `/echo TEXT`: TEXT exactly as written (everything after the first space or newline), nothing else of the contract applies.
  const echo = /^\/echo[ \n]([\s\S]*)$/.exec(T);
  if (echo) return { words: wordsOf(echo[1]!), toolCalls: [] };

  const said = `You said: "${T}"`;
  const longMatch = /(?:^|\s)\/long\s+(\d+)/.exec(T);
  const n = longMatch ? Math.min(Number(longMatch[1]), maxWords) : 0;
  const words = longMatch ? () => longReply(said, n) : wordsOf(said);

  if (/(?:^|\s)\/fail(?=\s|$)/.test(T)) {
    return { words, toolCalls: [], failAfterWords: 3 };
  }

  let toolCalls = parseToolLines(T);
  if (toolCalls.length === 0 && /\btime\b/i.test(T)) {
    toolCalls = [{ toolCallId: newToolCallId(), toolName: 'get_current_time', input: '{}' }];
  }
  if (toolCalls.length > 0) {
    return { words: wordsOf(toolCalls.map((c) => `Calling ${c.toolName}.`).join(' ')), toolCalls };
  }
  return { words, toolCalls };
}

function promptTokens(prompt: LanguageModelV3Prompt): number {
  let n = 0;
  for (const m of prompt) {
    if (typeof m.content === 'string') n += countWords(m.content);
    else
      for (const p of m.content) {
        if (p.type === 'text' || p.type === 'reasoning') n += countWords(p.text);
        else if (p.type === 'tool-call') n += countWords(JSON.stringify(p.input ?? null)) + 1;
        else if (p.type === 'tool-result') n += countWords(JSON.stringify(p.output ?? null)) + 1;
      }
  }
  return n;
}

function usageFor(prompt: LanguageModelV3Prompt, toolCalls: number, emittedWords: number): LanguageModelV3Usage {
  const input = promptTokens(prompt);
  const output = emittedWords + toolCalls;
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: emittedWords, reasoning: 0 },
  };
}

function finishReasonFor(plan: Plan, truncated: boolean): LanguageModelV3FinishReason {
  if (truncated) return { unified: 'length', raw: 'length' };
  return plan.toolCalls.length > 0 ? { unified: 'tool-calls', raw: 'tool_calls' } : { unified: 'stop', raw: 'stop' };
}

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/** Waits `ms` (or one macrotask turn when 0); rejects with an AbortError as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    let immediate: ReturnType<typeof setImmediate> | undefined;
    const onAbort = () => {
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (ms > 0) timer = setTimeout(done, ms);
    else immediate = setImmediate(done);
  });
}

export function createLocalModel(opts: LocalModelOptions): LanguageModelV3 {
  const modelId = opts.modelId ?? 'local';
  const delay = Math.max(0, opts.tokenDelayMs);
  const maxWords = opts.maxWords ?? 5000;
  const limitOf = (options: LanguageModelV3CallOptions) => options.maxOutputTokens ?? Infinity;

  return {
    specificationVersion: 'v3',
    provider: 'local',
    modelId,
    supportedUrls: {},

    async doGenerate(options: LanguageModelV3CallOptions) {
      if (options.abortSignal?.aborted) throw abortError();
      const plan = makePlan(options.prompt, maxWords);
      if (plan.failAfterWords !== undefined) throw new Error(LOCAL_FAILURE_MESSAGE);
      const { words, truncated } = takeWords(plan, limitOf(options));
      const toolCalls = truncated ? [] : plan.toolCalls;
      const content: LanguageModelV3Content[] = [];
      if (words.length > 0) content.push({ type: 'text', text: words.join('') });
      for (const c of toolCalls) content.push({ type: 'tool-call', ...c });
      return {
        content,
        finishReason: finishReasonFor(plan, truncated),
        usage: usageFor(options.prompt, toolCalls.length, words.length),
        response: { id: `resp_${randomUUID()}`, modelId, timestamp: new Date() },
        warnings: [],
      };
    },

    async doStream(options: LanguageModelV3CallOptions) {
      const signal = options.abortSignal;
      if (signal?.aborted) throw abortError();
      const plan = makePlan(options.prompt, maxWords);
      const limit = Math.min(limitOf(options), plan.failAfterWords ?? Infinity);
      const textId = `txt_${randomUUID().slice(0, 8)}`;

      async function* parts(): AsyncGenerator<LanguageModelV3StreamPart> {
        yield { type: 'stream-start', warnings: [] };
        yield { type: 'response-metadata', id: `resp_${randomUUID()}`, modelId, timestamp: new Date() };
        let emitted = 0;
        let truncated = false;
        for (const w of plan.words()) {
          if (emitted >= limit) {
            truncated = true;
            break;
          }
          if (emitted === 0) yield { type: 'text-start', id: textId };
          else await pause(delay, signal);
          yield { type: 'text-delta', id: textId, delta: w };
          emitted++;
        }
        if (plan.failAfterWords !== undefined) {
          if (emitted > 0) await pause(delay, signal);
          yield { type: 'error', error: new Error(LOCAL_FAILURE_MESSAGE) };
          return;
        }
        if (emitted > 0) yield { type: 'text-end', id: textId };
        const toolCalls = truncated ? [] : plan.toolCalls;
        for (const c of toolCalls) {
          await pause(delay, signal);
          yield { type: 'tool-call', toolCallId: c.toolCallId, toolName: c.toolName, input: c.input };
        }
        yield { type: 'finish', finishReason: finishReasonFor(plan, truncated), usage: usageFor(options.prompt, toolCalls.length, emitted) };
      }

      const it = parts();
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async pull(controller) {
          try {
            if (signal?.aborted) throw abortError();
            const { done, value } = await it.next();
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (err) {
            controller.error(err);
          }
        },
        async cancel() {
          await it.return(undefined);
        },
      });
      return { stream, request: { body: { prompt: options.prompt } } };
    },
  };
}
