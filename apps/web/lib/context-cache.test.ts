import { describe, expect, it } from 'vitest';
import {
  addOptimisticMessage,
  appliedSeq,
  applyStreamItem,
  confirmMessage,
  mergeAt,
  reconcileFetched,
  textOfParts,
  withPendingEdit,
  type PersistedItem,
} from './context-cache';
import type { ChatMessage, ContextDetail, StreamItem } from './types';

const NOW = new Date('2026-01-01T00:00:00Z');

function message(over: Partial<ChatMessage> & Pick<ChatMessage, 'id' | 'seq'>): ChatMessage {
  return {
    attempts: [],
    contextId: 'ctx',
    branchId: 'br',
    parentId: null,
    role: 'assistant',
    parts: [],
    status: 'complete',
    runId: null,
    clientMessageId: null,
    createdAt: NOW,
    ...over,
  };
}

const MAIN = { id: 'br', contextId: 'ctx', name: 'main', headMessageId: null, forkedFromMessageId: null, createdAt: NOW };

function detail(messages: ChatMessage[], seq = 10): ContextDetail {
  return {
    context: {
      id: 'ctx', ownerId: 'u', title: 'New chat', model: 'local', mode: 'chat', systemPrompt: null, busyPolicy: 'queue',
      activeBranchId: 'br', state: { type: 'Idle' }, activeRunId: null, version: 3, lastEventSeq: seq, lastMessageSeq: 2,
      lastError: null, createdAt: NOW, updatedAt: NOW, deletedAt: null,
    },
    state: { state: { type: 'Idle' }, version: 3, lastEventSeq: seq, lastError: null, activeRun: null, queue: [], pendingToolCalls: [] },
    branch: MAIN,
    branches: [MAIN],
    messages,
    messagesCursor: null,
    toolCalls: [],
    latestRun: null,
  } as unknown as ContextDetail;
}

const event = (seq: number, type: string, payload: unknown): PersistedItem =>
  ({ kind: 'event', contextId: 'ctx', seq, type, payload, createdAt: NOW }) as unknown as PersistedItem;
const delta = (messageId: string, offset: number, text: string): StreamItem =>
  ({ kind: 'ephemeral', afterSeq: 0, type: 'message.delta', contextId: 'ctx', payload: { messageId, offset, text } }) as StreamItem;

const streaming = (text: string) =>
  message({ id: 'a1', seq: 2, status: 'streaming', parts: text ? [{ type: 'text', text }] : [] });
const textOf = (d: ContextDetail, id = 'a1') => textOfParts(d.messages.find((m) => m.id === id)!.parts);

describe('mergeAt', () => {
  it('appends, ignores replays, refuses gaps', () => {
    expect(mergeAt('Hello', 5, ' world')).toBe('Hello world');
    expect(mergeAt('Hello world', 5, ' world')).toBe('Hello world');
    expect(mergeAt('Hello', 6, 'x')).toBeNull();
    expect(mergeAt('Hello', 2, 'y')).toBe('Hey');
  });
});

describe('applyStreamItem', () => {
  it('streams deltas token by token and applies each once', () => {
    let d = detail([streaming('')]);
    for (const [offset, text] of [[0, 'You '], [4, 'said'], [4, 'said'], [8, ': hi']] as const) {
      d = applyStreamItem(d, delta('a1', offset, text)).detail;
    }
    expect(textOf(d)).toBe('You said: hi');
    expect(applyStreamItem(d, delta('a1', 99, 'gap')).detail).toBe(d);
  });

  it('ignores persisted events at or below the applied seq', () => {
    const d = detail([streaming('abc')], 10);
    const stale = applyStreamItem(d, event(10, 'message.completed', { messageId: 'a1', parts: [{ type: 'text', text: 'zzz' }] }));
    expect(stale.detail).toBe(d);
    const fresh = applyStreamItem(d, event(11, 'message.completed', { messageId: 'a1', parts: [{ type: 'text', text: 'abc!' }] }));
    expect(textOf(fresh.detail)).toBe('abc!');
    expect(fresh.detail.messages[0]!.status).toBe('complete');
    expect(appliedSeq(fresh.detail)).toBe(11);
  });

  it('a checkpoint behind later deltas keeps the longer text', () => {
    const d = detail([streaming('Hello world')]);
    const r = applyStreamItem(d, event(11, 'message.checkpointed', { messageId: 'a1', offset: 0, text: 'Hello' }));
    expect(textOf(r.detail)).toBe('Hello world');
    const r2 = applyStreamItem(detail([streaming('Hel')]), event(11, 'message.checkpointed', { messageId: 'a1', offset: 0, text: 'Hello' }));
    expect(textOf(r2.detail)).toBe('Hello');
  });

  it('message.created replaces the optimistic copy with the same clientMessageId', () => {
    const d = addOptimisticMessage(detail([]), { clientMessageId: 'c1', content: 'hi' });
    expect(d.messages[0]!.id).toBe('optimistic:c1');
    const created = event(11, 'message.created', {
      message: { id: 'm1', branchId: 'br', parentId: null, seq: 1, role: 'user', parts: [{ type: 'text', text: 'hi' }], status: 'complete', runId: 'r1', clientMessageId: 'c1', createdAt: NOW.toISOString() },
    });
    const r = applyStreamItem(d, created);
    expect(r.detail.messages.map((m) => m.id)).toEqual(['m1']);
    expect(r.detail.messages[0]!.createdAt).toBeInstanceOf(Date);
    // and the mutation's answer afterwards changes nothing
    expect(confirmMessage(r.detail, r.detail.messages[0]!, 'c1')).toBe(r.detail);
  });

  it('applies context.updated state at once, and asks for a refetch when it names a run the cache lacks', () => {
    const pending = [{ id: 't1', name: 'save_note', args: {} }];
    const r = applyStreamItem(detail([]), event(11, 'context.updated', { changes: { state: { type: 'AwaitingToolApproval', runId: 'r1', pendingToolCalls: pending } } }));
    expect(r.detail.state.state.type).toBe('AwaitingToolApproval');
    expect(r.detail.state.pendingToolCalls).toEqual(pending);
    expect(r.refetch).toBe(true);
  });
});

describe('reconcileFetched', () => {
  it('re-applies events newer than the fetch, keeps streamed text and optimistic messages', () => {
    const previous = addOptimisticMessage(detail([streaming('Hello wor')], 12), { clientMessageId: 'c9', content: 'next' });
    const fresh = detail([streaming('Hello')], 11);
    const recent = [event(12, 'message.interrupted', { messageId: 'a1', status: 'cancelled' })];
    const merged = reconcileFetched(fresh, previous, recent);
    expect(merged.messages[0]!.status).toBe('cancelled');
    expect(appliedSeq(merged)).toBe(12);
    expect(merged.messages.at(-1)!.id).toBe('optimistic:c9');

    const streamingOnly = reconcileFetched(detail([streaming('Hello')], 12), detail([streaming('Hello wor')], 12), []);
    expect(textOf(streamingOnly)).toBe('Hello wor');
  });
});

describe('branches', () => {
  const main = { id: 'br', contextId: 'ctx', name: 'main', headMessageId: 'a1', forkedFromMessageId: null, createdAt: NOW };
  const u1 = message({ id: 'u1', seq: 1, role: 'user', parts: [{ type: 'text', text: 'first' }] });
  const a1 = message({ id: 'a1', seq: 2, parentId: 'u1', parts: [{ type: 'text', text: 'reply' }] });
  const onMain = (seq = 10): ContextDetail => ({ ...detail([u1, a1], seq), branch: main, branches: [main] });
  const fork = (seq: number, id: string, headMessageId: string | null, forkedFromMessageId: string) =>
    event(seq, 'branch.created', {
      branch: { id, name: 'branch-2', headMessageId, forkedFromMessageId, createdAt: NOW.toISOString() },
    });
  const created = (seq: number, id: string, branchId: string, clientMessageId: string | null = null) =>
    event(seq, 'message.created', {
      message: { id, branchId, parentId: null, seq: seq, role: 'user', parts: [{ type: 'text', text: 'edited' }], status: 'complete', runId: 'r2', clientMessageId, createdAt: NOW.toISOString() },
    });

  it('an edit of the first message: the fork is listed, switched to locally, and its messages apply at once', () => {
    let d = onMain();
    const r1 = applyStreamItem(d, fork(11, 'b2', null, 'u1'));
    expect(r1.refetch).toBe(false);
    expect(r1.detail.branches.map((b) => b.id)).toEqual(['br', 'b2']);
    expect(r1.detail.branches[1]!.createdAt).toBeInstanceOf(Date);
    const r2 = applyStreamItem(r1.detail, event(12, 'branch.switched', { branchId: 'b2' }));
    expect(r2.refetch).toBe(true);
    expect(r2.detail.branch!.id).toBe('b2');
    expect(r2.detail.context.activeBranchId).toBe('b2');
    expect(r2.detail.messages).toEqual([]);
    d = applyStreamItem(r2.detail, created(13, 'u2', 'b2', 'c2')).detail;
    expect(d.messages.map((m) => m.id)).toEqual(['u2']);
    expect(d.branch!.headMessageId).toBe('u2');
    expect(d.branches.find((b) => b.id === 'b2')!.headMessageId).toBe('u2');
  });

  it('a regenerate keeps the path up to the trigger', () => {
    const d = applyStreamItem(applyStreamItem(onMain(), fork(11, 'b2', 'u1', 'a1')).detail, event(12, 'branch.switched', { branchId: 'b2' })).detail;
    expect(d.branch!.id).toBe('b2');
    expect(d.messages.map((m) => m.id)).toEqual(['u1']);
  });

  it('a switch to a branch whose messages are not here waits for the refetch', () => {
    const other = { ...main, id: 'b3', name: 'branch-3', headMessageId: 'x9' };
    const d = { ...onMain(), branches: [main, other] };
    const r = applyStreamItem(d, event(11, 'branch.switched', { branchId: 'b3' }));
    expect(r.refetch).toBe(true);
    expect(r.detail.branch!.id).toBe('br');
    expect(r.detail.context.activeBranchId).toBe('b3');
    expect(r.detail.messages).toBe(d.messages);
    // a message of the other branch is not shown, but moves that branch's head
    const r2 = applyStreamItem(r.detail, created(12, 'x10', 'b3'));
    expect(r2.detail.messages).toBe(d.messages);
    expect(r2.detail.branches.find((b) => b.id === 'b3')!.headMessageId).toBe('x10');
    expect(r2.refetch).toBe(true);
  });

  it('a fetch older than the switch gets the switch re-applied', () => {
    const recent = [fork(11, 'b2', null, 'u1'), event(12, 'branch.switched', { branchId: 'b2' }), created(13, 'u2', 'b2', 'c2')];
    const merged = reconcileFetched(onMain(10), onMain(10), recent);
    expect(merged.branch!.id).toBe('b2');
    expect(merged.messages.map((m) => m.id)).toEqual(['u2']);
  });

  it('a pending edit shows the path before the edited message, then the new text', () => {
    const d = onMain();
    const edit = { editOfMessageId: 'u1', clientMessageId: 'c2', content: 'edited', createdAt: NOW };
    const shown = withPendingEdit(d, edit);
    expect(shown.messages.map((m) => m.id)).toEqual(['optimistic:c2']);
    expect(textOfParts(shown.messages[0]!.parts)).toBe('edited');
    expect(withPendingEdit(d, null)).toBe(d);
    // once the server's copy is here, the cache is shown as it is
    const arrived = { ...d, messages: [message({ id: 'u2', seq: 13, role: 'user', clientMessageId: 'c2' })] };
    expect(withPendingEdit(arrived, edit)).toBe(arrived);
  });
});

describe('queued questions and restarted replies', () => {
  it('a queued question stays after the running reply until message.attached moves it after the head with its new seq', () => {
    const a = message({ id: 'A', seq: 1, role: 'user' });
    const a1 = message({ id: 'a1', seq: 3, parentId: 'A', status: 'streaming' });
    const b = message({ id: 'B', seq: 2, role: 'user', status: 'queued' });
    let d = applyStreamItem(detail([a, a1]), event(11, 'message.created', { message: { ...b, createdAt: NOW.toISOString() } })).detail;
    expect(d.messages.map((m) => m.id)).toEqual(['A', 'a1', 'B']);
    expect(d.branch?.headMessageId).toBeNull();
    d = applyStreamItem(d, event(12, 'message.attached', { messageId: 'B', parentId: 'a1', seq: 4 })).detail;
    expect(d.messages.map((m) => [m.id, m.seq, m.status])).toEqual([
      ['A', 1, 'complete'],
      ['a1', 3, 'streaming'],
      ['B', 4, 'complete'],
    ]);
    expect(d.messages.at(-1)!.parentId).toBe('a1');
    expect(d.branch?.headMessageId).toBe('B');
  });

  it('message.restarted starts the reply over and keeps the earlier text as an attempt', () => {
    const d = applyStreamItem(detail([message({ id: 'a1', seq: 2, status: 'interrupted', parts: [{ type: 'text', text: 'half' }] })]), event(11, 'message.restarted', { messageId: 'a1', attempt: 2 })).detail;
    const m = d.messages[0]!;
    expect([m.status, textOfParts(m.parts)]).toEqual(['streaming', '']);
    expect(m.attempts).toEqual([{ attempt: 1, parts: [{ type: 'text', text: 'half' }], status: 'interrupted' }]);
  });
});
