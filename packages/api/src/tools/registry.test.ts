import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinTools, defineTool, ToolRegistry } from './registry.ts';

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

describe('what a tool failure shows', () => {
  it("a tool's own error is its result; any other error is logged and shows only that the tool failed", async () => {
    const logged: unknown[] = [];
    const broken = defineTool({
      name: 'broken',
      description: '',
      input: z.object({}),
      needsApproval: false,
      execute: async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:5432');
      },
    });
    const registry = new ToolRegistry([broken, ...builtinTools({ now: () => new Date(0), notes: { saveNote: async () => ({ id: 'n' }) } })], 0, 1000, (msg, data) =>
      logged.push({ msg, ...data }),
    );
    await expect(registry.execute('broken', {}, ctx)).rejects.toThrow(/^broken failed$/);
    expect(JSON.stringify(logged)).toContain('ECONNREFUSED 10.1.2.3');
    await expect(registry.execute('calculate', { expression: '1/0' }, ctx)).rejects.toThrow('division by zero');
  });
});
