import { describe, expect, it } from 'vitest';
import { ContextAggregate } from './aggregate.ts';
import type { ContextEvent } from './events.ts';
import { assertLegal, RUN_LIFECYCLE, SETTLED_TOOL_STATUSES, TERMINAL_RUN_STATUSES, TOOL_CALL_LIFECYCLE } from './lifecycle.ts';

let t = Date.parse('2026-01-01T00:00:00Z');
const clock = () => new Date((t += 10));

function chat() {
  const a = ContextAggregate.create(
    { id: 'c', ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: 'b' },
    clock,
  );
  const { run } = a.acceptUserMessage({ messageId: 'm1', runId: 'r1', text: 'hi', clientMessageId: null });
  a.claimRun(run.id, 'w', new Date(t + 60_000));
  a.startReply(run.id, 'w', 'm2');
  a.completeReply(run.id, 'w', 'm2', { text: 'calling', toolCalls: [{ id: 'tc1', name: 'save_note', args: {}, argsHash: 'h', approval: 'required' }] });
  return a;
}
const event = (a: ContextAggregate, type: string, payload: Record<string, unknown>) =>
  ({ contextId: 'c', seq: a.rows.context.lastEventSeq + 1, type, payload, createdAt: clock() }) as unknown as ContextEvent;
const now = () => clock().toISOString();

describe('the lifecycle tables', () => {
  it('name the ends: a run ends completed, error, cancelled or interrupted; a tool call settles denied, expired, succeeded or failed', () => {
    expect([...TERMINAL_RUN_STATUSES].sort()).toEqual(['cancelled', 'completed', 'error', 'interrupted']);
    expect([...SETTLED_TOOL_STATUSES].sort()).toEqual(['denied', 'expired', 'failed', 'succeeded']);
    // Every status named as a target is a status of the table.
    for (const table of [RUN_LIFECYCLE, TOOL_CALL_LIFECYCLE] as Record<string, readonly string[]>[]) {
      for (const targets of Object.values(table)) for (const to of targets) expect(Object.keys(table)).toContain(to);
    }
  });

  it('let the edges through and stop anything else, whichever command would emit it', () => {
    const a = chat();
    expect(a.state.type).toBe('AwaitingToolApproval');
    expect(a.run('r1').status).toBe('awaiting_approval');
    // Legal: decide the pending call; cancel the waiting run.
    expect(() => assertLegal(a.rows, event(a, 'tool.decided', { toolCallId: 'tc1', status: 'approved', decidedBy: 'o', decidedAt: now(), reason: null }))).not.toThrow();
    expect(() => assertLegal(a.rows, event(a, 'run.cancelled', { runId: 'r1', completedAt: now() }))).not.toThrow();
    // Illegal: run an undecided call, finish a call that never ran, complete a run that waits for approval.
    expect(() => assertLegal(a.rows, event(a, 'tool.started', { toolCallId: 'tc1' }))).toThrow(/ILLEGAL|cannot apply tool.started/);
    expect(() => assertLegal(a.rows, event(a, 'tool.finished', { toolCallId: 'tc1', status: 'succeeded', result: null }))).toThrow(/cannot apply/);
    expect(() => assertLegal(a.rows, event(a, 'run.completed', { runId: 'r1', completedAt: now() }))).toThrow(/run r1 awaiting_approval/);
    // A finished reply is not streamed into again.
    expect(() => assertLegal(a.rows, event(a, 'message.restarted', { messageId: 'm2', attempt: 2 }))).toThrow(/message m2 complete/);

    a.cancel('r1');
    expect(a.run('r1').status).toBe('cancelled');
    // Nothing leaves an end.
    expect(() => assertLegal(a.rows, event(a, 'run.started', { runId: 'r1', attempt: 2, startedAt: now() }))).toThrow(/run r1 cancelled/);
    expect(() => assertLegal(a.rows, event(a, 'tool.decided', { toolCallId: 'tc1', status: 'approved', decidedBy: 'o', decidedAt: now(), reason: null }))).toThrow(
      /toolCall tc1 denied/,
    );
  });
});
