import { IllegalTransitionError, notFound } from '../errors.ts';
import type { MessagePart, MessageRecord } from '../records.ts';
import { textOf } from '../records.ts';
import { advance, assertLease, finishRun, releaseLease } from './runs.ts';
import { appendMessage, branchOf, nowIso, type Tx } from './tx.ts';

// The model's side of a turn: a reply started, streamed, completed (maybe asking for tools).

export interface RequestedToolCall {
  id: string;
  name: string;
  args: unknown;
  argsHash: string;
  /** 'required': ask a human; 'auto': run without asking; 'invalid': arguments failed validation. */
  approval: 'required' | 'auto' | 'invalid';
  error?: string;
}

/**
 * Starts an assistant message for the run's next model step. A run retried after a crash answers in
 * its interrupted reply (the branch's head): the text so far is kept in the reply's attempts.
 */
export function startReply(tx: Tx, runId: string, owner: string, messageId: string): MessageRecord {
  const run = assertLease(tx, runId, owner);
  const { view } = tx;
  if (view.context.state.type !== 'ProcessingUserMessage') throw new IllegalTransitionError(view.context.state.type, 'start_reply');
  const head = view.messages.get(branchOf(view, run.branchId).headMessageId ?? '');
  if (head && head.runId === runId && head.role === 'assistant' && head.status === 'interrupted') {
    tx.emit('message.restarted', { messageId: head.id, attempt: run.attempt });
    return head;
  }
  return appendMessage(tx, run.branchId, { id: messageId, role: 'assistant', parts: [], status: 'streaming', runId, clientMessageId: null });
}

/** Persists streamed text; emits nothing (the context stays clean) when the text has not changed. */
export function checkpoint(tx: Tx, messageId: string, text: string) {
  const message = tx.view.messages.get(messageId);
  if (!message) throw notFound('message', messageId);
  const current = textOf(message.parts);
  if (text === current) return;
  if (!text.startsWith(current)) throw new Error(`checkpoint of ${messageId} does not extend the stored text`);
  tx.emit('message.checkpointed', { messageId, offset: current.length, text: text.slice(current.length) });
}

/** The executor of a cancelled run stores the text it streamed after the last checkpoint. */
export function flushCancelledText(tx: Tx, runId: string, messageId: string, text: string) {
  const message = tx.view.messages.get(messageId);
  if (tx.view.runs.get(runId)?.status !== 'cancelled' || message?.runId !== runId || message.status !== 'cancelled') return;
  checkpoint(tx, messageId, text);
}

export function completeReply(tx: Tx, runId: string, owner: string, messageId: string, reply: { text: string; toolCalls: RequestedToolCall[] }) {
  assertLease(tx, runId, owner);
  checkpoint(tx, messageId, reply.text);
  const parts: MessagePart[] = reply.text ? [{ type: 'text', text: reply.text }] : [];
  for (const call of reply.toolCalls) parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, args: call.args });
  tx.emit('message.completed', { messageId, parts });

  if (reply.toolCalls.length === 0) {
    finishRun(tx, runId, { type: 'model_finished' }, 'run.completed');
    return;
  }
  const now = nowIso(tx);
  for (const call of reply.toolCalls) {
    const status = call.approval === 'required' ? 'pending_approval' : call.approval === 'auto' ? 'approved' : 'failed';
    tx.emit('tool.requested', {
      toolCall: {
        id: call.id,
        runId,
        messageId,
        name: call.name,
        args: call.args,
        argsHash: call.argsHash,
        status,
        result: call.approval === 'invalid' ? { error: call.error ?? 'invalid arguments' } : null,
        createdAt: now,
        decidedAt: call.approval === 'auto' ? now : null,
        decidedBy: call.approval === 'auto' ? 'policy' : null,
        reason: null,
      },
    });
  }
  const pendingApproval = reply.toolCalls.filter((c) => c.approval === 'required').map((c) => ({ id: c.id, name: c.name, args: c.args }));
  const next = advance(tx, { type: 'tools_requested', pendingApproval });
  if (next.state.type === 'AwaitingToolApproval') {
    tx.emit('run.status_changed', { runId, status: 'awaiting_approval' });
    releaseLease(tx, runId);
  }
}
