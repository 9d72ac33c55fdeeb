import { LeaseLostError } from '../errors.ts';
import { failure, failureText } from '../failure.ts';
import type { ContextChanges } from '../events.ts';
import { toIso } from '../events.ts';
import { transition, type FsmInput } from '../fsm.ts';
import { TERMINAL_RUN_STATUSES } from '../lifecycle.ts';
import type { RunRecord } from '../records.ts';
import { activeRunIdOf } from '../state.ts';
import { queueOf } from '../view.ts';
import { activeRun, branchOf, messagesOf, nowIso, runOf, toolCallsOf, type Tx } from './tx.ts';

// Runs: queueing, the worker's claim and lease, and every way a run ends.

export function queueRun(tx: Tx, runId: string, branchId: string, triggerMessageId: string) {
  // Queue order is the order of acceptance (writers are serialised): a run is never queued "before" an
  // open one, even when this instance's clock is behind the one that queued it.
  let queuedAt = tx.clock().getTime();
  for (const r of tx.view.runs.values()) {
    if (!TERMINAL_RUN_STATUSES.includes(r.status)) queuedAt = Math.max(queuedAt, r.createdAt.getTime() + 1);
  }
  tx.emit('run.queued', { run: { id: runId, branchId, triggerMessageId, createdAt: toIso(new Date(queuedAt)) } });
  if (tx.view.context.state.type === 'Idle') advance(tx, { type: 'user_message_accepted', runId });
}

/** A worker takes the active run: a fresh start, a recovered retry, or a hand-off after approval. */
export function claimRun(tx: Tx, runId: string, owner: string, leaseExpiresAt: Date): boolean {
  const run = activeRun(tx.view);
  if (!run || run.id !== runId || tx.view.context.state.type === 'AwaitingToolApproval') return false;
  const now = tx.clock();
  const free = run.leaseOwner === null || (run.leaseExpiresAt !== null && run.leaseExpiresAt <= now);
  if (!free || (run.status !== 'pending' && run.status !== 'processing')) return false;
  if (run.status === 'pending') tx.emit('run.started', { runId, attempt: run.attempt, startedAt: toIso(now) });
  tx.setLease(run, owner, leaseExpiresAt);
  return true;
}

export function assertLease(tx: Tx, runId: string, owner: string): RunRecord {
  const run = tx.view.runs.get(runId);
  if (!run || run.status !== 'processing' || run.leaseOwner !== owner || activeRunIdOf(tx.view.context.state) !== runId) {
    throw new LeaseLostError(runId);
  }
  return run;
}

export function releaseLease(tx: Tx, runId: string) {
  const run = tx.view.runs.get(runId);
  if (run && run.leaseOwner !== null) tx.setLease(run, null, null);
}

/** Cancels the active run (partial reply kept, marked) or a queued one. Returns the run or null. */
export function cancel(tx: Tx, runId?: string): RunRecord | null {
  const active = activeRunIdOf(tx.view.context.state);
  const targetId = runId ?? active;
  if (!targetId) return null;
  const run = runOf(tx.view, targetId);
  if (TERMINAL_RUN_STATUSES.includes(run.status)) return run;
  const now = nowIso(tx);
  if (active !== run.id) {
    tx.emit('run.cancelled', { runId: run.id, completedAt: now });
    return run;
  }
  for (const call of toolCallsOf(tx.view, run.id)) {
    if (call.status === 'pending_approval' || call.status === 'approved') {
      tx.emit('tool.decided', { toolCallId: call.id, status: 'denied', decidedBy: 'system', decidedAt: now, reason: 'run cancelled' });
    }
  }
  endStreaming(tx, run.id, 'cancelled');
  finishRun(tx, run.id, { type: 'cancel' }, 'run.cancelled');
  return run;
}

export function fail(tx: Tx, runId: string, error: string) {
  const run = runOf(tx.view, runId);
  if (activeRunIdOf(tx.view.context.state) !== runId || TERMINAL_RUN_STATUSES.includes(run.status)) return;
  endStreaming(tx, runId, 'error');
  finishRun(tx, runId, { type: 'failure', error }, 'run.failed', error);
}

/** The owner's lease expired (crash): mark the partial reply, then retry the run or give up. */
export function recover(tx: Tx, runId: string, maxAttempts: number) {
  const run = runOf(tx.view, runId);
  if (activeRunIdOf(tx.view.context.state) !== runId || run.status !== 'processing') return;
  endStreaming(tx, runId, 'interrupted');
  for (const call of toolCallsOf(tx.view, runId)) {
    // It may or may not have run; running it again could repeat a side effect.
    if (call.status === 'running') {
      tx.emit('tool.finished', { toolCallId: call.id, status: 'failed', result: { error: 'interrupted while running; not run again' } });
    }
  }
  if (run.attempt < maxAttempts) {
    advance(tx, { type: 'lease_expired', requeue: true });
    tx.emit('run.status_changed', { runId, status: 'pending', attempt: run.attempt + 1, reason: 'recovered after lease expiry' });
    releaseLease(tx, runId);
  } else {
    const error = failureText(failure('INTERRUPTED', `The run was interrupted ${run.attempt} times and was given up.`));
    finishRun(tx, runId, { type: 'lease_expired', requeue: false }, 'run.interrupted', error);
  }
}

export function finishRun(
  tx: Tx,
  runId: string,
  input: FsmInput,
  type: 'run.completed' | 'run.cancelled' | 'run.failed' | 'run.interrupted',
  error?: string,
) {
  const completedAt = nowIso(tx);
  if (type === 'run.failed' || type === 'run.interrupted') tx.emit(type, { runId, completedAt, error: error ?? 'error' });
  else tx.emit(type, { runId, completedAt });
  releaseLease(tx, runId);
  advance(tx, input, error ?? null);
}

/** Runs the FSM and records the context's new state; then the effects that belong to the context. */
export function advance(tx: Tx, input: FsmInput, lastError: string | null = null) {
  const { context } = tx.view;
  const next = transition(context.state, input);
  const changes: ContextChanges = { state: next.state, activeRunId: activeRunIdOf(next.state) };
  if (input.type === 'failure' || (input.type === 'lease_expired' && !input.requeue)) changes.lastError = lastError;
  // A run that answered clears the last failure: it is no longer the chat's news.
  if (input.type === 'model_finished' && context.lastError !== null) changes.lastError = null;
  tx.emit('context.updated', { changes });
  if (input.type === 'user_message_accepted') attachQueued(tx, runOf(tx.view, input.runId));
  if (next.effects.includes('start_next_run')) startNextQueued(tx);
  return next;
}

function startNextQueued(tx: Tx) {
  const next = queueOf(tx.view)[0];
  if (next && tx.view.context.state.type === 'Idle') advance(tx, { type: 'user_message_accepted', runId: next.id });
  else if (!next) attachQueued(tx, null);
}

/**
 * Queued questions join their branch's transcript when their turn comes: the starting run's own
 * question, and before it those whose run was cancelled while they waited (with no run next, all
 * of those). Each goes after its branch's head with the next seq, so a path read by seq is in order.
 */
function attachQueued(tx: Tx, starting: RunRecord | null) {
  const { view } = tx;
  const due = [...view.messages.values()]
    .filter((m) => {
      if (m.status !== 'queued' || !m.runId) return false;
      const run = view.runs.get(m.runId);
      if (!run) return false;
      if (run === starting) return true;
      return TERMINAL_RUN_STATUSES.includes(run.status) && (!starting || run.createdAt <= starting.createdAt);
    })
    .sort((a, b) => a.seq - b.seq);
  for (const m of due) {
    tx.emit('message.attached', { messageId: m.id, parentId: branchOf(view, m.branchId).headMessageId, seq: view.context.lastMessageSeq + 1 });
  }
}

function endStreaming(tx: Tx, runId: string, status: 'interrupted' | 'cancelled' | 'error') {
  for (const message of messagesOf(tx.view, runId)) {
    if (message.status === 'streaming') tx.emit('message.interrupted', { messageId: message.id, status });
  }
}
