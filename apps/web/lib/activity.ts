import type { ChatMessage, ContextDetail } from './types';

/**
 * What the open chat is doing, in the words the UI shows, from the server's
 * state and the transcript: "Thinking" until the reply's first token,
 * "Writing" while its text streams, the approval and tool phases, and the
 * runs waiting behind the active one.
 */
export type Activity =
  | { kind: 'idle'; label: 'Ready' }
  | { kind: 'thinking'; label: 'Thinking…' }
  | { kind: 'writing'; label: 'Writing…' }
  | { kind: 'approval'; label: 'Waiting for your approval' }
  | { kind: 'tools'; label: 'Running tools' };

export function activityOf(detail: Pick<ContextDetail, 'state' | 'messages'>): Activity {
  const type = detail.state.state.type;
  if (type === 'AwaitingToolApproval') return { kind: 'approval', label: 'Waiting for your approval' };
  if (type === 'ExecutingTools') return { kind: 'tools', label: 'Running tools' };
  if (type === 'Idle') return { kind: 'idle', label: 'Ready' };
  const runId = 'runId' in detail.state.state ? detail.state.state.runId : undefined;
  const reply = streamingReply(detail.messages, runId);
  return reply && reply.parts.some((p) => p.type === 'text' && p.text.length > 0)
    ? { kind: 'writing', label: 'Writing…' }
    : { kind: 'thinking', label: 'Thinking…' };
}

/** The reply being written for the active run, if it has started. */
export function streamingReply(messages: readonly ChatMessage[], runId: string | undefined): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'assistant' && m.status === 'streaming' && (runId === undefined || m.runId === runId)) return m;
  }
  return undefined;
}

/** The user messages whose runs wait behind the active one. */
export function queuedMessageIds(detail: Pick<ContextDetail, 'state'>): Set<string> {
  return new Set(detail.state.queue.filter((r) => r.status === 'pending').map((r) => r.triggerMessageId));
}

/**
 * The failed run's error to show on its reply: only while that run is the
 * latest (a later run that completed hides it, whatever `lastError` still
 * says) and until the user dismisses it.
 */
export function visibleRunError(
  detail: Pick<ContextDetail, 'latestRun' | 'state'>,
  dismissed: ReadonlySet<string>,
): { runId: string; messageId: string | null; triggerMessageId: string; message: string } | null {
  const run = detail.latestRun;
  if (!run || run.status !== 'error' || dismissed.has(run.id)) return null;
  const message = run.error?.message ?? detail.state.lastError?.message ?? 'The reply failed.';
  return { runId: run.id, messageId: run.responseMessageId, triggerMessageId: run.triggerMessageId, message };
}
