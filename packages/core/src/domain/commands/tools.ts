import { DomainError, LeaseLostError, notFound } from '../errors.ts';
import { SETTLED_TOOL_STATUSES } from '../lifecycle.ts';
import type { ToolCallRecord } from '../records.ts';
import type { ContextView } from '../view.ts';
import { advance, assertLease } from './runs.ts';
import { appendMessage, assertLive, nowIso, toolCallsOf, type Tx } from './tx.ts';

// Tool calls: a human's decisions, their expiry, running each once, and the results sent back to the model.

export interface ToolDecision {
  toolCallId: string;
  approve: boolean;
  reason?: string | undefined;
  argsHash?: string | undefined;
}

export function decideTools(tx: Tx, runId: string, decisions: ToolDecision[], decidedBy: string, expired = false) {
  const { view } = tx;
  assertLive(view);
  const state = view.context.state;
  if (state.type !== 'AwaitingToolApproval' || state.runId !== runId) {
    throw new DomainError('conflict', 'RUN_NOT_AWAITING_APPROVAL', `run ${runId} is not awaiting approval`, { state });
  }
  const seen = new Set<string>();
  for (const decision of decisions) {
    if (seen.has(decision.toolCallId)) throw new DomainError('invalid', 'DUPLICATE_DECISION', `tool call ${decision.toolCallId} decided twice`);
    seen.add(decision.toolCallId);
    const call = view.toolCalls.get(decision.toolCallId);
    if (!call || call.runId !== runId) throw notFound('tool_call', decision.toolCallId);
    if (call.status !== 'pending_approval') {
      throw new DomainError('conflict', 'TOOL_CALL_ALREADY_DECIDED', `tool call ${call.id} is ${call.status}`, { status: call.status });
    }
    if (decision.argsHash !== undefined && decision.argsHash !== call.argsHash) {
      throw new DomainError('conflict', 'TOOL_ARGS_CHANGED', `tool call ${call.id} has different arguments`);
    }
  }
  const now = nowIso(tx);
  for (const decision of decisions) {
    tx.emit('tool.decided', {
      toolCallId: decision.toolCallId,
      status: expired ? 'expired' : decision.approve ? 'approved' : 'denied',
      decidedBy,
      decidedAt: now,
      reason: decision.reason ?? null,
    });
  }
  const stillPending = state.pendingToolCalls.filter((p) => !seen.has(p.id));
  const next = advance(tx, { type: 'tools_decided', stillPending });
  if (next.state.type === 'ExecutingTools') tx.emit('run.status_changed', { runId, status: 'processing' });
}

/** Denies as `expired` every call of the waiting run older than the timeout. Returns how many. */
export function expireApprovals(tx: Tx, timeoutMs: number): number {
  const state = tx.view.context.state;
  if (state.type !== 'AwaitingToolApproval') return 0;
  const limit = tx.clock().getTime() - timeoutMs;
  const stale = toolCallsOf(tx.view, state.runId).filter((t) => t.status === 'pending_approval' && t.createdAt.getTime() <= limit);
  if (stale.length === 0) return 0;
  const decisions = stale.map((t) => ({ toolCallId: t.id, approve: false, reason: 'approval timed out' }));
  decideTools(tx, state.runId, decisions, 'system', true);
  return stale.length;
}

/** Claims one approved call before it runs, so it can never run twice. */
export function claimTool(tx: Tx, runId: string, owner: string, toolCallId: string): boolean {
  assertLease(tx, runId, owner);
  const call = tx.view.toolCalls.get(toolCallId);
  if (!call || call.runId !== runId || call.status !== 'approved') return false;
  tx.emit('tool.started', { toolCallId });
  return true;
}

/**
 * Records what a tool did. Also after the run was cancelled while the tool
 * ran: the effect happened, so it is recorded, never left `running`.
 */
export function finishTool(tx: Tx, runId: string, owner: string, toolCallId: string, outcome: { ok: boolean; result: unknown }) {
  const cancelled = tx.view.runs.get(runId)?.status === 'cancelled';
  if (!cancelled) assertLease(tx, runId, owner);
  const call = tx.view.toolCalls.get(toolCallId);
  if (!call || call.runId !== runId || call.status !== 'running') throw new LeaseLostError(runId);
  tx.emit('tool.finished', { toolCallId, status: outcome.ok ? 'succeeded' : 'failed', result: outcome.result });
}

/** All calls settled: their results become one `tool` message and the model continues. */
export function completeToolStep(tx: Tx, runId: string, owner: string, messageId: string) {
  const run = assertLease(tx, runId, owner);
  const calls = unsentToolCalls(tx.view, runId);
  const unsettled = calls.filter((t) => !SETTLED_TOOL_STATUSES.includes(t.status));
  if (unsettled.length > 0) throw new Error(`tool calls not settled: ${unsettled.map((t) => t.id).join(', ')}`);
  appendMessage(tx, run.branchId, {
    id: messageId,
    role: 'tool',
    parts: calls.map((t) => ({ type: 'tool-result' as const, toolCallId: t.id, toolName: t.name, status: t.status, result: toolResultFor(t) })),
    status: 'complete',
    runId,
    clientMessageId: null,
  });
  advance(tx, { type: 'tool_results_in' });
}

/** Tool calls of the run whose result the model has not received yet. */
export function unsentToolCalls(view: ContextView, runId: string): ToolCallRecord[] {
  const sent = new Set<string>();
  for (const m of view.messages.values()) {
    if (m.role !== 'tool' || m.runId !== runId) continue;
    for (const p of m.parts) if (p.type === 'tool-result') sent.add(p.toolCallId);
  }
  return toolCallsOf(view, runId).filter((t) => !sent.has(t.id));
}

/** What the model is told about a settled tool call. */
export function toolResultFor(call: ToolCallRecord): unknown {
  switch (call.status) {
    case 'succeeded':
      return call.result;
    case 'denied':
      return { denied: true, reason: call.reason ?? 'denied by the user' };
    case 'expired':
      return { denied: true, reason: 'approval expired' };
    default:
      return { error: (call.result as { error?: string } | null)?.error ?? 'tool failed' };
  }
}
