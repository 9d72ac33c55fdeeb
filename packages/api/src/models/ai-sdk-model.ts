import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import {
  DomainError,
  failure,
  type Failure,
  type LanguageModelPort,
  type ModelChunk,
  type ModelMessage,
  type ModelRequest,
} from '@chat/core';
import {
  APICallError,
  jsonSchema,
  LoadAPIKeyError,
  NoSuchModelError,
  RetryError,
  streamText,
  tool,
  type ModelMessage as SdkMessage,
  type ToolSet,
} from 'ai';
import type { Config } from '../config.ts';
import { createLocalModel } from './local-model.ts';

/**
 * Every model goes through the AI SDK's `streamText`, the built-in `local`
 * one included (DESIGN §10). A context names its model as `provider:model`,
 * e.g. `local:scripted` or `openai-compatible:llama3.1`. `LOCAL_MODEL=off`
 * takes `local` out of the deployment: `local:*` is UNKNOWN_MODEL.
 */
export function modelResolver(config: Config) {
  const local =
    config.LOCAL_MODEL === 'on'
      ? createLocalModel({ tokenDelayMs: config.LOCAL_MODEL_TOKEN_DELAY_MS, modelId: 'scripted', maxWords: config.LOCAL_MODEL_MAX_WORDS })
      : null;
  const remote: Partial<Record<string, (name: string) => LanguageModelV3>> = {};
  if (config.LLM_BASE_URL) {
    const provider = createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: config.LLM_BASE_URL,
      ...(config.LLM_API_KEY ? { apiKey: config.LLM_API_KEY } : {}),
      includeUsage: true,
    });
    remote['openai-compatible'] = (name) => provider.chatModel(name);
  }
  if (config.LLM_PROVIDER === 'openai') {
    const provider = createOpenAI({ apiKey: config.LLM_API_KEY, ...(config.LLM_BASE_URL ? { baseURL: config.LLM_BASE_URL } : {}) });
    remote.openai = (name) => provider.chat(name);
  }
  if (config.LLM_PROVIDER === 'anthropic') {
    const provider = createAnthropic({ apiKey: config.LLM_API_KEY, ...(config.LLM_BASE_URL ? { baseURL: config.LLM_BASE_URL } : {}) });
    remote.anthropic = (name) => provider(name);
  }

  function resolve(model: string): LanguageModelV3 {
    const [provider, ...rest] = model.split(':');
    const name = rest.join(':');
    if (provider === 'local' && local) return local;
    const make = provider && provider !== 'local' ? remote[provider] : undefined;
    if (!make || !name) throw new DomainError('invalid', 'UNKNOWN_MODEL', `model ${model} is not available on this server`);
    return make(name);
  }
  const isSupported = (model: string) => {
    try {
      resolve(model);
      return true;
    } catch {
      return false;
    }
  };
  const providers = () => [...(local ? ['local'] : []), ...Object.keys(remote)];
  return { resolve, isSupported, providers };
}

export interface ModelLimits {
  /** Passed to the provider as `maxOutputTokens`; a reply that reaches it ends the run OUTPUT_LIMIT. */
  maxOutputTokens?: number;
  /** Where a failure's raw detail goes (the client gets only its category and a safe sentence). */
  log?: (msg: string, data: Record<string, unknown>) => void;
}

export class AiSdkLanguageModel implements LanguageModelPort {
  constructor(
    private readonly resolve: (model: string) => LanguageModelV3,
    readonly supports: (model: string) => boolean,
    readonly providers: () => string[] = () => ['local'],
    private readonly limits: ModelLimits = {},
  ) {}

  async *stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    try {
      yield* this.parts(request);
    } catch (error) {
      if (request.signal.aborted) throw error;
      yield this.failed(request, error);
    }
  }

  private failed(request: ModelRequest, error: unknown): ModelChunk {
    const f = classify(error);
    this.limits.log?.('model failed', { model: request.model, code: f.code, error: errorDetail(error) });
    return { type: 'error', code: f.code, error: f.message };
  }

  private async *parts(request: ModelRequest): AsyncIterable<ModelChunk> {
    const { maxOutputTokens } = this.limits;
    const tools: ToolSet = Object.fromEntries(
      request.tools.map((t) => [t.name, tool({ description: t.description, inputSchema: jsonSchema(t.inputSchema as never) })]),
    );
    const result = streamText({
      model: this.resolve(request.model),
      ...(request.system ? { system: request.system } : {}),
      messages: request.messages.map(toSdkMessage),
      tools,
      abortSignal: request.signal,
      ...(maxOutputTokens ? { maxOutputTokens } : {}),
      maxRetries: 2,
      timeout: { chunkMs: 120_000 },
    });
    for await (const part of result.fullStream) {
      switch (part.type) {
        case 'text-delta':
          if (part.text) yield { type: 'text', text: part.text };
          break;
        case 'tool-call':
          yield {
            type: 'tool-call',
            id: part.toolCallId,
            name: part.toolName,
            args: part.input,
            ...(part.invalid ? { invalid: String((part.error as Error | undefined)?.message ?? part.error ?? 'invalid tool call') } : {}),
          };
          break;
        case 'error':
          yield this.failed(request, part.error);
          return;
        case 'finish':
          if (part.finishReason === 'length') {
            const limit = maxOutputTokens ? ` (${maxOutputTokens} tokens)` : '';
            yield { type: 'error', code: 'OUTPUT_LIMIT', error: `The reply reached the output limit${limit} and was cut short.` };
          }
          return;
        case 'abort':
          if (request.signal.aborted) throw request.signal.reason ?? new Error('aborted');
          // Not ours: the SDK gave up on a provider that stopped sending (timeout.chunkMs).
          yield { type: 'error', code: 'MODEL_UNAVAILABLE', error: 'The model stopped responding.' };
          return;
        default:
          break;
      }
    }
  }
}

/** The category of a provider's failure and a sentence safe to show (no provider text, hosts or bodies). */
export function classify(error: unknown): Failure {
  const cause = RetryError.isInstance(error) ? error.lastError : error;
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode;
    if (status === 429) return failure('MODEL_UNAVAILABLE', 'The model provider is rate-limiting this server; try again later.');
    if (status === 401 || status === 403) return failure('MODEL_UNAVAILABLE', 'The model provider refused this server\'s credentials.');
    if (status === undefined || status === 408 || status >= 500) return failure('MODEL_UNAVAILABLE');
    return failure('MODEL_FAILED', 'The model provider rejected the request.');
  }
  if (LoadAPIKeyError.isInstance(cause) || NoSuchModelError.isInstance(cause)) return failure('MODEL_UNAVAILABLE');
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return failure('MODEL_UNAVAILABLE', 'The model stopped responding.');
  if (cause instanceof TypeError && /fetch failed/i.test(cause.message)) return failure('MODEL_UNAVAILABLE');
  return failure('MODEL_FAILED');
}

function errorDetail(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

function toSdkMessage(m: ModelMessage): SdkMessage {
  switch (m.role) {
    case 'user':
      return { role: 'user', content: m.text };
    case 'assistant':
      return {
        role: 'assistant',
        content: [
          ...(m.text ? [{ type: 'text' as const, text: m.text }] : []),
          ...m.toolCalls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.id, toolName: c.name, input: c.args ?? {} })),
        ],
      };
    case 'tool':
      return {
        role: 'tool',
        content: m.results.map((r) => ({
          type: 'tool-result' as const,
          toolCallId: r.toolCallId,
          toolName: r.toolName,
          output: r.isError ? { type: 'error-json' as const, value: (r.result ?? null) as never } : { type: 'json' as const, value: (r.result ?? null) as never },
        })),
      };
  }
}
