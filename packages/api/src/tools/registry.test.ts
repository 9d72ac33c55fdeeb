import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, ToolRegistry } from './registry.ts';

const ctx = { contextId: 'ctx_1', toolCallId: 'tool_1' };

describe('tool time limit (TOOL_TIMEOUT_MS)', () => {
  it('a tool that hangs fails at its timeout, and its signal is aborted', async () => {
    let signal: AbortSignal | undefined;
    const hang = defineTool({
      name: 'hang',
      description: 'never answers',
      input: z.object({}),
      needsApproval: false,
      execute: (_args, c) => {
        signal = c.signal;
        return new Promise(() => {});
      },
    });
    const registry = new ToolRegistry([hang], 0, 100);
    const started = Date.now();
    await expect(registry.execute('hang', {}, ctx)).rejects.toThrow('hang timed out after 100 ms');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(signal?.aborted).toBe(true);
  });

  it('a tool within its time limit answers', async () => {
    const quick = defineTool({ name: 'quick', description: '', input: z.object({}), needsApproval: false, execute: async () => ({ ok: true }) });
    await expect(new ToolRegistry([quick], 0, 100).execute('quick', {}, ctx)).resolves.toEqual({ ok: true });
  });

  it('the artificial delay (TOOL_DELAY_MS) counts against the limit', async () => {
    const quick = defineTool({ name: 'quick', description: '', input: z.object({}), needsApproval: false, execute: async () => ({ ok: true }) });
    await expect(new ToolRegistry([quick], 10_000, 50).execute('quick', {}, ctx)).rejects.toThrow('timed out after 50 ms');
  });
});
