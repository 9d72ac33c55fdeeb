import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { DomainError, type LanguageModelPort, type ModelChunk, type ModelMessage, type ModelRequest } from '@chat/core';
import { jsonSchema, streamText, tool, type ModelMessage as SdkMessage, type ToolSet } from 'ai';
import type { Config } from '../config.ts';
import { createLocalModel } from './local-model.ts';

/**
 * Every model goes through the AI SDK's `streamText`, the built-in `local`
 * one included (DESIGN §10). A context names its model as `provider:model`,
 * e.g. `local:scripted` or `openai-compatible:llama3.1`.
 */
export function modelResolver(config: Config) {
  const local = createLocalModel({ tokenDelayMs: config.LOCAL_MODEL_TOKEN_DELAY_MS, modelId: 'scripted' });
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
    if (provider === 'local') return local;
    const make = provider ? remote[provider] : undefined;
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
  const providers = () => ['local', ...Object.keys(remote)];
  return { resolve, isSupported, providers };
}

export class AiSdkLanguageModel implements LanguageModelPort {
  constructor(
    private readonly resolve: (model: string) => LanguageModelV3,
    readonly supports: (model: string) => boolean,
    readonly providers: () => string[] = () => ['local'],
  ) {}

  async *stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    const tools: ToolSet = Object.fromEntries(
      request.tools.map((t) => [t.name, tool({ description: t.description, inputSchema: jsonSchema(t.inputSchema as never) })]),
    );
    const result = streamText({
      model: this.resolve(request.model),
      ...(request.system ? { system: request.system } : {}),
      messages: request.messages.map(toSdkMessage),
      tools,
      abortSignal: request.signal,
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
          yield { type: 'error', error: errorText(part.error) };
          return;
        case 'abort':
          throw request.signal.reason ?? new Error('aborted');
        default:
          break;
      }
    }
  }
}

function errorText(error: unknown): string {
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
