import { describe, expect, it } from 'vitest';
import { ContextAggregate, decide } from '../aggregate.ts';
import { applyEvent } from '../reducer.ts';
import { cancel } from './runs.ts';
import { completeReply, startReply } from './reply.ts';
import { decideTools } from './tools.ts';
import { acceptUserMessage, regenerate } from './turns.ts';
import { claimRun } from './runs.ts';

let t = Date.parse('2026-01-01T00:00:00Z');
const clock = () => new Date((t += 10));

/** A chat whose first question was answered, a second one running and a third queued behind it. */
function busyChat() {
  const a = ContextAggregate.create(
    { id: 'c', ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: 'b' },
    clock,
  );
  a.acceptUserMessage({ messageId: 'q1', runId: 'r1', text: 'one', clientMessageId: null });
  a.claimRun('r1', 'w', new Date(t + 60_000));
  a.startReply('r1', 'w', 'a1');
  a.completeReply('r1', 'w', 'a1', { text: 'ok', toolCalls: [] });
  a.acceptUserMessage({ messageId: 'q2', runId: 'r2', text: 'two', clientMessageId: null });
  a.acceptUserMessage({ messageId: 'q3', runId: 'r3', text: 'three', clientMessageId: null });
  a.markCommitted(1);
  return a.rows;
}

const shape = (events: readonly { type: string }[]) => events.map((e) => e.type);

describe('commands, each a function of the rows and an input that returns events', () => {
  it('decide returns the events of a command and leaves the rows it was given as they were', () => {
    const view = busyChat();
    const before = structuredClone(view);
    const { events, result } = decide(view, clock, (tx) => cancel(tx, 'r2'));
    expect(view).toEqual(before);
    expect(result?.id).toBe('r2');
    // The running run ends, the context moves on, the queued question joins the transcript and its run starts.
    expect(shape(events)).toEqual(['run.cancelled', 'context.updated', 'context.updated', 'message.attached']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4].map((i) => view.context.lastEventSeq + i));

    // Folding those events into the rows gives what the recorder holds after the same command.
    const folded = events.reduce((v, e) => applyEvent(v, e), structuredClone(view));
    const recorded = ContextAggregate.load(structuredClone(view), clock);
    recorded.cancel('r2');
    expect({ ...folded.context, updatedAt: null }).toEqual({ ...recorded.rows.context, updatedAt: null });
    expect(folded.messages.get('q3')).toEqual(recorded.rows.messages.get('q3'));
    expect(folded.context.state).toEqual({ type: 'ProcessingUserMessage', runId: 'r3' });
  });

  it('a question sent while busy waits off the transcript: a queued message and a queued run, the state unchanged', () => {
    const { events, result } = decide(busyChat(), clock, (tx) =>
      acceptUserMessage(tx, { messageId: 'q4', runId: 'r4', text: 'four', clientMessageId: 'k4' }),
    );
    expect(shape(events)).toEqual(['message.created', 'run.queued']);
    // Its parent is provisional (the head now, the running question): message.attached sets it when its turn comes.
    expect(result.message).toMatchObject({ status: 'queued', parentId: 'q2', clientMessageId: 'k4' });
  });

  it('regenerating an answered reply forks beside it and queues its question again', () => {
    const { events, result } = decide(busyChat(), clock, (tx) => regenerate(tx, { messageId: 'a1', runId: 'r5', newBranchId: 'b2' }));
    expect(shape(events)).toEqual(['branch.created', 'branch.switched', 'run.queued']);
    expect(events[0]!.payload).toMatchObject({ branch: { id: 'b2', headMessageId: 'q1', forkedFromMessageId: 'a1' } });
    expect(result).toMatchObject({ triggerMessageId: 'q1', status: 'pending' });
  });

  it('a rejected command throws before it emits: no events, the rows unchanged', () => {
    const view = busyChat();
    const before = structuredClone(view);
    expect(() => decide(view, clock, (tx) => decideTools(tx, 'r2', [{ toolCallId: 'x', approve: true }], 'u'))).toThrow(/not awaiting approval/);
    expect(() => decide(view, clock, (tx) => startReply(tx, 'r2', 'someone-else', 'a2'))).toThrow(/lease/);
    expect(() => decide(view, clock, (tx) => regenerate(tx, { messageId: 'q1', runId: 'r6', newBranchId: 'b3' }))).toThrow(/not found/i);
    expect(view).toEqual(before);
  });

  it('a reply asking for a tool that needs approval hands the run to a human and gives up the lease', () => {
    const view = busyChat();
    const { events } = decide(view, clock, (tx) => {
      claimRun(tx, 'r2', 'w', new Date(t + 60_000));
      startReply(tx, 'r2', 'w', 'a2');
      completeReply(tx, 'r2', 'w', 'a2', {
        text: 'let me check',
        toolCalls: [{ id: 'tc1', name: 'lookup', args: { q: 'x' }, argsHash: 'h', approval: 'required' }],
      });
      expect(tx.view.runs.get('r2')).toMatchObject({ status: 'awaiting_approval', leaseOwner: null });
    });
    expect(shape(events)).toEqual([
      'run.started',
      'message.created',
      'message.checkpointed',
      'message.completed',
      'tool.requested',
      'context.updated',
      'run.status_changed',
    ]);
  });
});
