import { DomainError, notFound } from '../errors.ts';
import type { MessageRecord, RunRecord } from '../records.ts';
import { queueRun } from './runs.ts';
import { appendMessage, assertLive, assertMayStartRun, branchOf, nowIso, runOf, type Tx } from './tx.ts';

// The user's side of a turn: a question (new, or an edit that forks), or a reply asked for again.

export interface UserMessageInput {
  messageId: string;
  runId: string;
  text: string;
  clientMessageId: string | null;
  editOfMessageId?: string | undefined;
  newBranchId?: string | undefined;
}

export function acceptUserMessage(tx: Tx, input: UserMessageInput): { message: MessageRecord; run: RunRecord } {
  const { view } = tx;
  assertLive(view);
  assertMayStartRun(view);
  if (input.editOfMessageId) {
    const edited = view.messages.get(input.editOfMessageId);
    if (!edited || edited.role !== 'user') throw notFound('message', input.editOfMessageId);
    if (edited.status === 'queued') {
      throw new DomainError('conflict', 'MESSAGE_QUEUED', 'the message is still waiting for its reply: cancel its run or wait for the reply to edit it');
    }
    fork(tx, input.newBranchId ?? `${input.messageId}-branch`, edited.id, edited.parentId);
  }
  const branch = branchOf(view, view.context.activeBranchId ?? '');
  // Behind another run, the question waits off the path, so the running reply stays right after its own question.
  appendMessage(tx, branch.id, {
    id: input.messageId,
    role: 'user',
    parts: [{ type: 'text', text: input.text }],
    status: view.context.state.type === 'Idle' ? 'complete' : 'queued',
    runId: input.runId,
    clientMessageId: input.clientMessageId,
  });
  queueRun(tx, input.runId, branch.id, input.messageId);
  return { message: view.messages.get(input.messageId)!, run: runOf(view, input.runId) };
}

/** Forks a branch at an assistant reply and answers its trigger again. */
export function regenerate(tx: Tx, input: { messageId: string; runId: string; newBranchId: string }): RunRecord {
  const { view } = tx;
  assertLive(view);
  assertMayStartRun(view);
  const reply = view.messages.get(input.messageId);
  if (!reply || reply.role !== 'assistant' || !reply.runId) throw notFound('message', input.messageId);
  if (reply.status === 'streaming') throw new DomainError('conflict', 'MESSAGE_STREAMING', 'the reply is still streaming');
  const trigger = runOf(view, reply.runId).triggerMessageId;
  fork(tx, input.newBranchId, reply.id, reply.parentId);
  queueRun(tx, input.runId, input.newBranchId, trigger);
  return runOf(view, input.runId);
}

function fork(tx: Tx, branchId: string, forkedFromMessageId: string, headMessageId: string | null) {
  tx.emit('branch.created', {
    branch: { id: branchId, name: `branch-${tx.view.branches.size + 1}`, headMessageId, forkedFromMessageId, createdAt: nowIso(tx) },
  });
  tx.emit('branch.switched', { branchId });
}
