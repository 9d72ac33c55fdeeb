import type { ToolDescriptor, ToolRuntime } from '@chat/core';
import { z } from 'zod';
import { calculate } from './calculate.ts';
import { ToolError } from './tool-error.ts';

/**
 * Tools are declared with a zod input schema and an approval policy (DESIGN
 * §10). Built-ins are small and safe; `save_note` has a side effect and always
 * asks for approval.
 */
export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  needsApproval: boolean;
  /** `signal` aborts at the call's time limit: stop the work (the call already counts as failed). */
  execute(args: z.infer<S>, ctx: ToolContext): Promise<unknown>;
}

export interface ToolContext {
  contextId: string;
  toolCallId: string;
  signal: AbortSignal;
}

export const defineTool = <S extends z.ZodType>(tool: ToolDefinition<S>) => tool as unknown as ToolDefinition;

export interface NoteWriter {
  /** Idempotent per tool call: a note is stored at most once for one call. */
  saveNote(note: { contextId: string; toolCallId: string; title: string; body: string }): Promise<{ id: string }>;
}

export function builtinTools(deps: { notes: NoteWriter; now: () => Date }): ToolDefinition[] {
  return [
    defineTool({
      name: 'get_current_time',
      description: 'The current date and time (ISO 8601, UTC) on the server.',
      input: z.object({}).strict(),
      needsApproval: false,
      execute: async () => ({ now: deps.now().toISOString() }),
    }),
    defineTool({
      name: 'calculate',
      description: 'Evaluates an arithmetic expression with + - * / % ^ and parentheses.',
      input: z.object({ expression: z.string().min(1).max(500) }).strict(),
      needsApproval: false,
      execute: async ({ expression }) => ({ expression, value: calculate(expression) }),
    }),
    defineTool({
      name: 'save_note',
      description: 'Saves a note (a title and a body) for the user.',
      input: z.object({ title: z.string().min(1).max(200), body: z.string().max(10_000) }).strict(),
      needsApproval: true,
      execute: async ({ title, body }, ctx) => {
        const note = await deps.notes.saveNote({ contextId: ctx.contextId, toolCallId: ctx.toolCallId, title, body });
        return { saved: true, noteId: note.id, title };
      },
    }),
  ];
}

export class ToolRegistry implements ToolRuntime {
  private readonly byName: Map<string, ToolDefinition>;
  private readonly described: ToolDescriptor[];

  constructor(
    tools: ToolDefinition[],
    private readonly delayMs = 0,
    /** Time limit per call (TOOL_TIMEOUT_MS): then its signal aborts and the call fails, whether or not the tool stops. */
    private readonly timeoutMs = 30_000,
    private readonly log: (msg: string, data: Record<string, unknown>) => void = () => {},
  ) {
    this.byName = new Map(tools.map((t) => [t.name, t]));
    this.described = tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: z.toJSONSchema(t.input),
      needsApproval: t.needsApproval,
    }));
  }

  descriptors(): ToolDescriptor[] {
    return this.described;
  }

  validate(name: string, args: unknown) {
    const tool = this.byName.get(name);
    if (!tool) return { ok: false as const, error: `unknown tool ${name}` };
    const parsed = tool.input.safeParse(args);
    return parsed.success
      ? { ok: true as const, args: parsed.data }
      : { ok: false as const, error: `invalid arguments for ${name}: ${z.prettifyError(parsed.error)}` };
  }

  async execute(name: string, args: unknown, ctx: { contextId: string; toolCallId: string }) {
    const tool = this.byName.get(name);
    if (!tool) throw new Error(`unknown tool ${name}`);
    const controller = new AbortController();
    const { signal } = controller;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ToolError(`${name} timed out after ${this.timeoutMs} ms`);
        controller.abort(error);
        reject(error);
      }, this.timeoutMs);
    });
    const run = async () => {
      if (this.delayMs > 0) await abortableDelay(this.delayMs, signal);
      return tool.execute(tool.input.parse(args), { ...ctx, signal });
    };
    try {
      return await Promise.race([run(), timedOut]);
    } catch (error) {
      if (error instanceof ToolError) throw error;
      this.log('tool failed', { tool: name, toolCallId: ctx.toolCallId, error: error instanceof Error ? error.message : String(error) });
      throw new ToolError(`${name} failed`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}
