import { describe, expect, it } from 'vitest';
import { buildModelHistory } from './history.ts';
import type { MessageRecord } from './records.ts';

let seq = 0;
const msg = (id: string, role: MessageRecord['role'], text: string, extra: Partial<MessageRecord> = {}): MessageRecord => ({
  id,
  contextId: 'c',
  branchId: 'b',
  parentId: null,
  attempts: [],
  seq: ++seq,
  role,
  parts: [{ type: 'text', text }],
  status: 'complete',
  runId: null,
  clientMessageId: null,
  createdAt: new Date(0),
  ...extra,
});

describe('what the model sees for a run', () => {
  it('puts the trigger after earlier replies and leaves out messages still waiting for their own run', () => {
    // U1 and U2 were sent quickly; A1 (U1's reply) was written after U2 was accepted.
    const path = [msg('u1', 'user', 'one', { runId: 'r1' }), msg('u2', 'user', 'two', { runId: 'r2' }), msg('a1', 'assistant', 'reply one', { runId: 'r1' })];
    expect(buildModelHistory(path.slice(0, 2), { id: 'r1', triggerMessageId: 'u1' }, new Set(['u2']), 10_000)).toEqual([
      { role: 'user', text: 'one' },
    ]);
    expect(buildModelHistory(path, { id: 'r2', triggerMessageId: 'u2' }, new Set(), 10_000)).toEqual([
      { role: 'user', text: 'one' },
      { role: 'assistant', text: 'reply one', toolCalls: [] },
      { role: 'user', text: 'two' },
    ]);
  });

  it('leaves out interrupted and failed partial replies, keeps cancelled ones, and carries tool calls and results', () => {
    const path = [
      msg('u1', 'user', 'hi', { runId: 'r1' }),
      msg('a0', 'assistant', 'partial', { runId: 'r1', status: 'interrupted' }),
      msg('a1', 'assistant', '', { runId: 'r1', parts: [{ type: 'tool-call', toolCallId: 't1', toolName: 'calc', args: { x: 1 } }] }),
      msg('t', 'tool', '', {
        runId: 'r1',
        parts: [{ type: 'tool-result', toolCallId: 't1', toolName: 'calc', status: 'failed', result: { error: 'bad' } }],
      }),
      msg('u2', 'user', 'stop', { runId: 'r2' }),
      msg('a2', 'assistant', 'half', { runId: 'r2', status: 'cancelled' }),
      msg('a3', 'assistant', 'broken', { runId: 'r2', status: 'error' }),
      msg('u3', 'user', 'next', { runId: 'r3' }),
    ];
    expect(buildModelHistory(path, { id: 'r3', triggerMessageId: 'u3' }, new Set(), 10_000)).toEqual([
      { role: 'user', text: 'hi' },
      { role: 'assistant', text: '', toolCalls: [{ id: 't1', name: 'calc', args: { x: 1 } }] },
      { role: 'tool', results: [{ toolCallId: 't1', toolName: 'calc', result: { error: 'bad' }, isError: true }] },
      { role: 'user', text: 'stop' },
      { role: 'assistant', text: 'half', toolCalls: [] },
      { role: 'user', text: 'next' },
    ]);
  });

  it('windows a long conversation to the budget, newest kept, starting on a user message', () => {
    const path: MessageRecord[] = [];
    for (let i = 0; i < 50; i++) {
      path.push(msg(`u${i}`, 'user', `question ${i} ${'x'.repeat(90)}`, { runId: `r${i}` }));
      path.push(msg(`a${i}`, 'assistant', `answer ${i} ${'y'.repeat(90)}`, { runId: `r${i}` }));
    }
    path.push(msg('last', 'user', 'the newest question', { runId: 'rl' }));
    const history = buildModelHistory(path, { id: 'rl', triggerMessageId: 'last' }, new Set(), 1000);
    const size = history.reduce((n, m) => n + (m.role === 'tool' ? 0 : m.text.length), 0);
    expect(size).toBeLessThanOrEqual(1000);
    expect(history.length).toBeGreaterThan(2);
    expect(history.length).toBeLessThan(20);
    expect(history[0]!.role).toBe('user');
    expect(history.at(-1)).toEqual({ role: 'user', text: 'the newest question' });
    // Whatever the budget, the message being answered is sent.
    expect(buildModelHistory(path, { id: 'rl', triggerMessageId: 'last' }, new Set(), 1)).toEqual([
      { role: 'user', text: 'the newest question' },
    ]);
  });
});
