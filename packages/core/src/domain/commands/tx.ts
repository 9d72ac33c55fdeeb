import { DomainError, notFound } from '../errors.ts';
import type { EventPayloads, EventType } from '../events.ts';
import { toIso } from '../events.ts';
import type { BranchRecord, MessageRecord, RunRecord, ToolCallRecord } from '../records.ts';
import { activeRunIdOf } from '../state.ts';
import type { ContextView } from '../view.ts';

export type Clock = () => Date;

/**
 * What a command works on: the context's rows as they are after the events it
 * emitted so far, and the one way to change them. A command is a function of
 * (`tx`, input): it checks its rules against `tx.view` and emits events; the
 * recorder (the aggregate) applies each with the reducer and keeps it to save.
 * Not a transaction by itself: a command that throws after it emitted leaves
 * those events on the recorder, and the session (runtime/mutate.ts) drops that
 * aggregate, so nothing of it is saved.
 */
export interface Tx {
  readonly view: ContextView;
  readonly clock: Clock;
  emit<T extends EventType>(type: T, payload: EventPayloads[T]): void;
  /** A run's lease columns: infrastructure, saved but not in the event log. */
  setLease(run: RunRecord, owner: string | null, until: Date | null): void;
}

export const nowIso = (tx: Tx) => toIso(tx.clock());

export function runOf(view: ContextView, runId: string): RunRecord {
  const run = view.runs.get(runId);
  if (!run) throw notFound('run', runId);
  return run;
}

/** The run the state names; a state naming a run that is not loaded is a bug, so it throws. */
export function activeRun(view: ContextView): RunRecord | null {
  const id = activeRunIdOf(view.context.state);
  return id ? runOf(view, id) : null;
}

export function branchOf(view: ContextView, branchId: string): BranchRecord {
  const branch = view.branches.get(branchId);
  if (!branch) throw notFound('branch', branchId);
  return branch;
}

export function toolCallsOf(view: ContextView, runId: string): ToolCallRecord[] {
  return [...view.toolCalls.values()]
    .filter((t) => t.runId === runId)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
}

export function messagesOf(view: ContextView, runId: string): MessageRecord[] {
  return [...view.messages.values()].filter((m) => m.runId === runId).sort((a, b) => a.seq - b.seq);
}

export function assertLive(view: ContextView) {
  if (view.context.deletedAt) throw notFound('context', view.context.id);
}

export function assertMayStartRun(view: ContextView) {
  const active = activeRun(view);
  if (active && view.context.busyPolicy === 'reject') {
    throw new DomainError('conflict', 'CONTEXT_BUSY', 'the context is busy with another run', { activeRunId: active.id });
  }
}

/** A new message at the head of a branch, next in the context's seq order. */
export function appendMessage(
  tx: Tx,
  branchId: string,
  message: Pick<MessageRecord, 'id' | 'role' | 'parts' | 'status' | 'runId' | 'clientMessageId'>,
): MessageRecord {
  const branch = branchOf(tx.view, branchId);
  tx.emit('message.created', {
    message: { ...message, branchId: branch.id, parentId: branch.headMessageId, seq: tx.view.context.lastMessageSeq + 1, createdAt: nowIso(tx) },
  });
  return tx.view.messages.get(message.id)!;
}
