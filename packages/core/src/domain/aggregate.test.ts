import { describe, expect, it } from 'vitest';
import { ContextAggregate } from './aggregate.ts';

let t = Date.parse('2026-01-01T00:00:00Z');
const clock = () => new Date((t += 10));
let n = 0;
const next = (kind: string) => `${kind}${++n}`;

function context() {
  const a = ContextAggregate.create(
    { id: 'c', ownerId: 'o', title: 't', model: 'local:scripted', mode: 'chat', systemPrompt: null, busyPolicy: 'queue', mainBranchId: 'b' },
    clock,
  );
  const send = (text: string) => a.acceptUserMessage({ messageId: next('m'), runId: next('r'), text, clientMessageId: null });
  const answer = (runId: string) => {
    a.claimRun(runId, 'w', new Date(t + 60_000));
    const reply = next('m');
    a.startReply(runId, 'w', reply);
    a.completeReply(runId, 'w', reply, { text: 'ok', toolCalls: [] });
    return reply;
  };
  return { a, send, answer };
}

describe('the context aggregate', () => {
  it('runs queued runs in the order they were queued, a regenerated reply included', () => {
    const { a, send, answer } = context();
    const first = send('one');
    const reply = answer(first.run.id);
    const second = send('two');
    const third = send('three');
    expect(a.activeRun?.id).toBe(second.run.id);
    const regen = a.regenerate({ messageId: reply, runId: next('r'), newBranchId: next('b') });
    // The regenerated run answers an old message, but it was queued last.
    expect(a.queue.map((r) => r.id)).toEqual([third.run.id, regen.id]);
  });

  it('queues in the order of acceptance even when a writer\'s clock is behind (instances with skewed clocks)', () => {
    const { a, send } = context();
    const first = send('one');
    const second = send('two');
    t -= 60_000; // the next writer's clock is a minute behind
    const third = send('three');
    const fourth = send('four');
    expect(a.activeRun?.id).toBe(first.run.id);
    expect(a.queue.map((r) => r.id)).toEqual([second.run.id, third.run.id, fourth.run.id]);
  });

  it('deleting a busy context cancels the active run and every queued one', () => {
    const { a, send } = context();
    const runs = [send('one'), send('two'), send('three')].map((s) => s.run.id);
    a.delete();
    expect(runs.map((id) => a.run(id).status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(a.state).toEqual({ type: 'Idle' });
    expect(a.context.deletedAt).not.toBeNull();
  });

  it('a clean aggregate stays clean: unchanged values and no-op checkpoints record nothing', () => {
    const { a, send } = context();
    const { run } = send('hi');
    a.claimRun(run.id, 'w', new Date(t + 60_000));
    const reply = next('m');
    a.startReply(run.id, 'w', reply);
    a.checkpoint(reply, 'abc');
    a.markCommitted(3);
    expect(a.isDirty).toBe(false);
    a.update({ title: 't' });
    a.checkpoint(reply, 'abc');
    a.switchBranch('b');
    expect(a.isDirty).toBe(false);
    expect(a.versionAfterSave).toBe(3);
    a.checkpoint(reply, 'abcd');
    expect(a.isDirty).toBe(true);
    expect(a.versionAfterSave).toBe(4);
    expect(a.uncommittedEvents.map((e) => [e.type, e.payload])).toEqual([
      ['message.checkpointed', { messageId: reply, offset: 3, text: 'd' }],
    ]);
  });

  it('a worker without the lease cannot write, and a checkpoint must extend the stored text', () => {
    const { a, send } = context();
    const { run } = send('hi');
    expect(a.claimRun(run.id, 'w1', new Date(t + 60_000))).toBe(true);
    expect(a.claimRun(run.id, 'w2', new Date(t + 60_000))).toBe(false);
    expect(() => a.startReply(run.id, 'w2', next('m'))).toThrow(/lease/);
    const reply = next('m');
    a.startReply(run.id, 'w1', reply);
    a.checkpoint(reply, 'hello');
    expect(() => a.checkpoint(reply, 'jello world')).toThrow(/does not extend/);
  });
});
