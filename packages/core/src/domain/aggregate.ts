import { DomainError, IllegalTransitionError, LeaseLostError, notFound } from './errors.ts';
import { failure, failureText } from './failure.ts';
import type { ContextChanges, ContextEvent, EventPayloads, EventType } from './events.ts';
import { toIso } from './events.ts';
import { transition, type FsmInput } from './fsm.ts';
import type {
  BusyPolicy,
  ContextMode,
  ContextRecord,
  MessagePart,
  MessageRecord,
  RunRecord,
  ToolCallRecord,
} from './records.ts';
import { assertLegal, SETTLED_TOOL_STATUSES, TERMINAL_RUN_STATUSES } from './lifecycle.ts';
import { textOf } from './records.ts';
import { applyEvent } from './reducer.ts';
import { activeRunIdOf, type ContextState } from './state.ts';
import { queueOf, type ContextView, type Table } from './view.ts';

export type Clock = () => Date;

export interface RowChange {
  table: Table;
  id: string;
  isNew: boolean;
  /** A run's lease columns changed (they are infrastructure: not in the event log). */
  lease?: boolean;
}

export interface RequestedToolCall {
  id: string;
  name: string;
  args: unknown;
  argsHash: string;
  /** 'required': ask a human; 'auto': run without asking; 'invalid': arguments failed validation. */
  approval: 'required' | 'auto' | 'invalid';
  error?: string;
}

export interface ToolDecision {
  toolCallId: string;
  approve: boolean;
  reason?: string | undefined;
  argsHash?: string | undefined;
}

/**
 * The context aggregate (DESIGN §5). Every change goes through a method that
 * checks the rules, runs the FSM and emits events; the events are applied by
 * the shared reducer, which records which rows changed. `isDirty` is true
 * exactly when there is something to save.
 */
export class ContextAggregate {
  private readonly changes = new Map<string, RowChange>();
  private readonly newEvents: ContextEvent[] = [];
  private infraDirty = false;

  private constructor(
    private view: ContextView,
    private readonly clock: Clock,
    readonly expectedVersion: number | null,
  ) {}

  static create(
    input: Pick<ContextRecord, 'id' | 'ownerId' | 'title' | 'model' | 'mode' | 'systemPrompt' | 'busyPolicy'> & {
      mainBranchId: string;
    },
    clock: Clock,
  ): ContextAggregate {
    const now = clock();
    const draft = new ContextAggregate(null as unknown as ContextView, clock, null);
    draft.emit('context.created', {
      context: {
        id: input.id,
        ownerId: input.ownerId,
        title: input.title,
        model: input.model,
        mode: input.mode,
        systemPrompt: input.systemPrompt,
        busyPolicy: input.busyPolicy,
        createdAt: toIso(now),
      },
    });
    draft.emit('branch.created', {
      branch: { id: input.mainBranchId, name: 'main', headMessageId: null, forkedFromMessageId: null, createdAt: toIso(now) },
    });
    return draft;
  }

  static load(view: ContextView, clock: Clock): ContextAggregate {
    return new ContextAggregate(view, clock, view.context.version);
  }

  // ---- reading -----------------------------------------------------------

  get id() {
    return this.view.context.id;
  }
  get context() {
    return this.view.context;
  }
  get state(): ContextState {
    return this.view.context.state;
  }
  get isNew() {
    return this.expectedVersion === null;
  }
  get isDirty() {
    return this.newEvents.length > 0 || this.infraDirty;
  }
  get uncommittedEvents(): readonly ContextEvent[] {
    return this.newEvents;
  }
  get rowChanges(): readonly RowChange[] {
    return [...this.changes.values()];
  }
  get rows(): ContextView {
    return this.view;
  }
  run(runId: string): RunRecord {
    const run = this.view.runs.get(runId);
    if (!run) throw notFound('run', runId);
    return run;
  }
  get activeRun(): RunRecord | null {
    const id = activeRunIdOf(this.state);
    return id ? this.run(id) : null;
  }
  /** Runs waiting behind the active one, in the order they will execute. */
  get queue(): RunRecord[] {
    return queueOf(this.view);
  }

  /** The version the context will have once the pending changes are saved. */
  get versionAfterSave(): number {
    if (this.expectedVersion === null) return 0;
    return this.isDirty ? this.expectedVersion + 1 : this.expectedVersion;
  }
  toolCallsOf(runId: string): ToolCallRecord[] {
    return [...this.view.toolCalls.values()]
      .filter((t) => t.runId === runId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  }
  /** A loaded message by its client id (load it with `clientMessageIds`). */
  messageByClientId(clientMessageId: string): MessageRecord | null {
    for (const m of this.view.messages.values()) if (m.clientMessageId === clientMessageId) return m;
    return null;
  }
  messagesOf(runId: string): MessageRecord[] {
    return [...this.view.messages.values()].filter((m) => m.runId === runId).sort((a, b) => a.seq - b.seq);
  }

  /** Called by the repository once the transaction committed. */
  markCommitted(newVersion: number) {
    this.view.context.version = newVersion;
    (this as { expectedVersion: number | null }).expectedVersion = newVersion;
    this.changes.clear();
    this.newEvents.length = 0;
    this.infraDirty = false;
  }

  // ---- context commands ----------------------------------------------------

  update(changes: { title?: string; systemPrompt?: string | null; model?: string; mode?: ContextMode; busyPolicy?: BusyPolicy }) {
    this.assertLive();
    const diff: ContextChanges = {};
    for (const [key, value] of Object.entries(changes) as [keyof typeof changes, unknown][]) {
      if (value !== undefined && this.context[key] !== value) (diff as Record<string, unknown>)[key] = value;
    }
    if (Object.keys(diff).length > 0) this.emit('context.updated', { changes: diff });
  }

  /** The chat now belongs to `ownerId` (a guest signed up or in): recorded like any change, so a replay agrees. */
  transferTo(ownerId: string) {
    if (this.context.ownerId !== ownerId) this.emit('context.updated', { changes: { ownerId } });
  }

  delete() {
    this.assertLive();
    // Queued runs first: cancelling the active run would start the next one.
    for (const queued of this.queue) this.cancel(queued.id);
    const active = this.activeRun;
    if (active) this.cancel(active.id);
    this.emit('context.deleted', { deletedAt: toIso(this.clock()) });
  }

  switchBranch(branchId: string) {
    this.assertLive();
    if (!this.view.branches.has(branchId)) throw notFound('branch', branchId);
    if (this.context.activeBranchId !== branchId) this.emit('branch.switched', { branchId });
  }

  // ---- user messages and runs ------------------------------------------------

  acceptUserMessage(input: {
    messageId: string;
    runId: string;
    text: string;
    clientMessageId: string | null;
    editOfMessageId?: string | undefined;
    newBranchId?: string | undefined;
  }): { message: MessageRecord; run: RunRecord } {
    this.assertLive();
    this.assertMayStartRun();
    if (input.editOfMessageId) {
      const edited = this.view.messages.get(input.editOfMessageId);
      if (!edited || edited.role !== 'user') throw notFound('message', input.editOfMessageId);
      if (edited.status === 'queued') {
        throw new DomainError('conflict', 'MESSAGE_QUEUED', 'the message is still waiting for its reply: cancel its run or wait for the reply to edit it');
      }
      this.fork(input.newBranchId ?? `${input.messageId}-branch`, edited.id, edited.parentId);
    }
    const branch = this.activeBranch();
    // Behind another run, the question waits off the path, so the running reply stays right after its own question.
    this.appendMessage(branch.id, {
      id: input.messageId,
      role: 'user',
      parts: [{ type: 'text', text: input.text }],
      status: this.state.type === 'Idle' ? 'complete' : 'queued',
      runId: input.runId,
      clientMessageId: input.clientMessageId,
    });
    this.queueRun(input.runId, branch.id, input.messageId);
    return { message: this.view.messages.get(input.messageId)!, run: this.run(input.runId) };
  }

  /** Forks a branch at an assistant reply and answers its trigger again. */
  regenerate(input: { messageId: string; runId: string; newBranchId: string }): RunRecord {
    this.assertLive();
    this.assertMayStartRun();
    const reply = this.view.messages.get(input.messageId);
    if (!reply || reply.role !== 'assistant' || !reply.runId) throw notFound('message', input.messageId);
    if (reply.status === 'streaming') throw new DomainError('conflict', 'MESSAGE_STREAMING', 'the reply is still streaming');
    const trigger = this.run(reply.runId).triggerMessageId;
    this.fork(input.newBranchId, reply.id, reply.parentId);
    this.queueRun(input.runId, input.newBranchId, trigger);
    return this.run(input.runId);
  }

  /** A worker takes the active run: a fresh start, a recovered retry, or a hand-off after approval. */
  claimRun(runId: string, owner: string, leaseExpiresAt: Date): boolean {
    const run = this.activeRun;
    if (!run || run.id !== runId || this.state.type === 'AwaitingToolApproval') return false;
    const now = this.clock();
    const free = run.leaseOwner === null || (run.leaseExpiresAt !== null && run.leaseExpiresAt <= now);
    if (!free || (run.status !== 'pending' && run.status !== 'processing')) return false;
    if (run.status === 'pending') this.emit('run.started', { runId, attempt: run.attempt, startedAt: toIso(now) });
    this.setLease(run, owner, leaseExpiresAt);
    return true;
  }

  assertLease(runId: string, owner: string): RunRecord {
    const run = this.view.runs.get(runId);
    if (!run || run.status !== 'processing' || run.leaseOwner !== owner || activeRunIdOf(this.state) !== runId) {
      throw new LeaseLostError(runId);
    }
    return run;
  }

  releaseLease(runId: string) {
    const run = this.view.runs.get(runId);
    if (run && run.leaseOwner !== null) this.setLease(run, null, null);
  }

  // ---- the model's reply -------------------------------------------------------

  /**
   * Starts an assistant message for the run's next model step. A run retried after a crash answers in
   * its interrupted reply (the branch's head): the text so far is kept in the reply's attempts.
   */
  startReply(runId: string, owner: string, messageId: string): MessageRecord {
    const run = this.assertLease(runId, owner);
    if (this.state.type !== 'ProcessingUserMessage') throw new IllegalTransitionError(this.state.type, 'start_reply');
    const head = this.view.messages.get(this.branch(run.branchId).headMessageId ?? '');
    if (head && head.runId === runId && head.role === 'assistant' && head.status === 'interrupted') {
      this.emit('message.restarted', { messageId: head.id, attempt: run.attempt });
      return head;
    }
    return this.appendMessage(run.branchId, { id: messageId, role: 'assistant', parts: [], status: 'streaming', runId, clientMessageId: null });
  }

  /** Persists streamed text; does nothing (stays clean) when the text has not changed. */
  checkpoint(messageId: string, text: string) {
    const message = this.view.messages.get(messageId);
    if (!message) throw notFound('message', messageId);
    const current = textOf(message.parts);
    if (text === current) return;
    if (!text.startsWith(current)) throw new Error(`checkpoint of ${messageId} does not extend the stored text`);
    this.emit('message.checkpointed', { messageId, offset: current.length, text: text.slice(current.length) });
  }

  completeReply(runId: string, owner: string, messageId: string, reply: { text: string; toolCalls: RequestedToolCall[] }) {
    this.assertLease(runId, owner);
    this.checkpoint(messageId, reply.text);
    const parts: MessagePart[] = reply.text ? [{ type: 'text', text: reply.text }] : [];
    for (const call of reply.toolCalls) parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, args: call.args });
    this.emit('message.completed', { messageId, parts });

    if (reply.toolCalls.length === 0) {
      this.finishRun(runId, { type: 'model_finished' }, 'run.completed', {});
      return;
    }
    const now = toIso(this.clock());
    for (const call of reply.toolCalls) {
      const status = call.approval === 'required' ? 'pending_approval' : call.approval === 'auto' ? 'approved' : 'failed';
      this.emit('tool.requested', {
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
    const pendingApproval = reply.toolCalls
      .filter((c) => c.approval === 'required')
      .map((c) => ({ id: c.id, name: c.name, args: c.args }));
    const next = this.fsm({ type: 'tools_requested', pendingApproval });
    if (next.state.type === 'AwaitingToolApproval') {
      this.emit('run.status_changed', { runId, status: 'awaiting_approval' });
      this.releaseLease(runId);
    }
  }

  // ---- tools -------------------------------------------------------------------

  decideTools(runId: string, decisions: ToolDecision[], decidedBy: string, expired = false) {
    this.assertLive();
    const state = this.state;
    if (state.type !== 'AwaitingToolApproval' || state.runId !== runId) {
      throw new DomainError('conflict', 'RUN_NOT_AWAITING_APPROVAL', `run ${runId} is not awaiting approval`, {
        state,
      });
    }
    const seen = new Set<string>();
    for (const decision of decisions) {
      if (seen.has(decision.toolCallId)) {
        throw new DomainError('invalid', 'DUPLICATE_DECISION', `tool call ${decision.toolCallId} decided twice`);
      }
      seen.add(decision.toolCallId);
      const call = this.view.toolCalls.get(decision.toolCallId);
      if (!call || call.runId !== runId) throw notFound('tool_call', decision.toolCallId);
      if (call.status !== 'pending_approval') {
        throw new DomainError('conflict', 'TOOL_CALL_ALREADY_DECIDED', `tool call ${call.id} is ${call.status}`, {
          status: call.status,
        });
      }
      if (decision.argsHash !== undefined && decision.argsHash !== call.argsHash) {
        throw new DomainError('conflict', 'TOOL_ARGS_CHANGED', `tool call ${call.id} has different arguments`);
      }
    }
    const now = toIso(this.clock());
    for (const decision of decisions) {
      this.emit('tool.decided', {
        toolCallId: decision.toolCallId,
        status: expired ? 'expired' : decision.approve ? 'approved' : 'denied',
        decidedBy,
        decidedAt: now,
        reason: decision.reason ?? null,
      });
    }
    const stillPending = state.pendingToolCalls.filter((p) => !seen.has(p.id));
    const next = this.fsm({ type: 'tools_decided', stillPending });
    if (next.state.type === 'ExecutingTools') this.emit('run.status_changed', { runId, status: 'processing' });
  }

  /** Denies as `expired` every call of the waiting run older than the timeout. */
  expireApprovals(timeoutMs: number): number {
    const state = this.state;
    if (state.type !== 'AwaitingToolApproval') return 0;
    const limit = this.clock().getTime() - timeoutMs;
    const stale = this.toolCallsOf(state.runId).filter(
      (t) => t.status === 'pending_approval' && t.createdAt.getTime() <= limit,
    );
    if (stale.length === 0) return 0;
    this.decideTools(
      state.runId,
      stale.map((t) => ({ toolCallId: t.id, approve: false, reason: 'approval timed out' })),
      'system',
      true,
    );
    return stale.length;
  }

  /** Claims one approved call before it runs, so it can never run twice. */
  claimTool(runId: string, owner: string, toolCallId: string): boolean {
    this.assertLease(runId, owner);
    const call = this.view.toolCalls.get(toolCallId);
    if (!call || call.runId !== runId || call.status !== 'approved') return false;
    this.emit('tool.started', { toolCallId });
    return true;
  }

  /**
   * Records what a tool did. Also after the run was cancelled while the tool
   * ran: the effect happened, so it is recorded, never left `running`.
   */
  finishTool(runId: string, owner: string, toolCallId: string, outcome: { ok: boolean; result: unknown }) {
    const cancelled = this.view.runs.get(runId)?.status === 'cancelled';
    if (!cancelled) this.assertLease(runId, owner);
    const call = this.view.toolCalls.get(toolCallId);
    if (!call || call.runId !== runId || call.status !== 'running') throw new LeaseLostError(runId);
    this.emit('tool.finished', { toolCallId, status: outcome.ok ? 'succeeded' : 'failed', result: outcome.result });
  }

  /** All calls settled: their results become one `tool` message and the model continues. */
  completeToolStep(runId: string, owner: string, messageId: string) {
    const run = this.assertLease(runId, owner);
    const calls = this.toolCallsOf(runId).filter((t) => !this.resultAlreadySent(t));
    const unsettled = calls.filter((t) => !SETTLED_TOOL_STATUSES.includes(t.status));
    if (unsettled.length > 0) throw new Error(`tool calls not settled: ${unsettled.map((t) => t.id).join(', ')}`);
    this.appendMessage(run.branchId, {
      id: messageId,
      role: 'tool',
      parts: calls.map((t) => ({
        type: 'tool-result' as const,
        toolCallId: t.id,
        toolName: t.name,
        status: t.status,
        result: toolResultFor(t),
      })),
      status: 'complete',
      runId,
      clientMessageId: null,
    });
    this.fsm({ type: 'tool_results_in' });
  }

  /** Tool calls of the run whose result the model has not received yet. */
  unsentToolCalls(runId: string): ToolCallRecord[] {
    return this.toolCallsOf(runId).filter((t) => !this.resultAlreadySent(t));
  }

  // ---- endings -------------------------------------------------------------------

  /** Cancels the active run (partial reply kept, marked) or a queued one. Returns the run or null. */
  cancel(runId?: string): RunRecord | null {
    const targetId = runId ?? activeRunIdOf(this.state);
    if (!targetId) return null;
    const run = this.run(targetId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return run;
    const now = toIso(this.clock());
    if (activeRunIdOf(this.state) !== run.id) {
      this.emit('run.cancelled', { runId: run.id, completedAt: now });
      return run;
    }
    for (const call of this.toolCallsOf(run.id)) {
      if (call.status === 'pending_approval' || call.status === 'approved') {
        this.emit('tool.decided', { toolCallId: call.id, status: 'denied', decidedBy: 'system', decidedAt: now, reason: 'run cancelled' });
      }
    }
    this.markStreaming(run.id, 'cancelled');
    this.finishRun(run.id, { type: 'cancel' }, 'run.cancelled', {});
    return run;
  }

  /** The executor of a cancelled run stores the text it streamed after the last checkpoint. */
  flushCancelledText(runId: string, messageId: string, text: string) {
    const message = this.view.messages.get(messageId);
    if (this.view.runs.get(runId)?.status !== 'cancelled' || message?.runId !== runId || message.status !== 'cancelled') return;
    this.checkpoint(messageId, text);
  }

  fail(runId: string, error: string) {
    const run = this.run(runId);
    if (activeRunIdOf(this.state) !== runId || TERMINAL_RUN_STATUSES.includes(run.status)) return;
    this.markStreaming(runId, 'error');
    this.finishRun(runId, { type: 'failure', error }, 'run.failed', { error });
  }

  /** The owner's lease expired (crash): mark the partial reply, then retry the run or give up. */
  recover(runId: string, maxAttempts: number) {
    const run = this.run(runId);
    if (activeRunIdOf(this.state) !== runId || run.status !== 'processing') return;
    this.markStreaming(runId, 'interrupted');
    for (const call of this.toolCallsOf(runId)) {
      // It may or may not have run; running it again could repeat a side effect.
      if (call.status === 'running') {
        this.emit('tool.finished', {
          toolCallId: call.id,
          status: 'failed',
          result: { error: 'interrupted while running; not run again' },
        });
      }
    }
    if (run.attempt < maxAttempts) {
      this.fsm({ type: 'lease_expired', requeue: true });
      this.emit('run.status_changed', { runId, status: 'pending', attempt: run.attempt + 1, reason: 'recovered after lease expiry' });
      this.releaseLease(runId);
    } else {
      const error = failureText(failure('INTERRUPTED', `The run was interrupted ${run.attempt} times and was given up.`));
      this.finishRun(runId, { type: 'lease_expired', requeue: false }, 'run.interrupted', { error });
    }
  }

  // ---- internals -------------------------------------------------------------------

  private finishRun(
    runId: string,
    input: FsmInput,
    type: 'run.completed' | 'run.cancelled' | 'run.failed' | 'run.interrupted',
    extra: { error?: string },
  ) {
    const completedAt = toIso(this.clock());
    if (type === 'run.failed' || type === 'run.interrupted') {
      this.emit(type, { runId, completedAt, error: extra.error ?? 'error' });
    } else {
      this.emit(type, { runId, completedAt });
    }
    this.releaseLease(runId);
    this.fsm(input, extra.error ?? null);
  }

  /** Runs the FSM and records the new state; then does the effects that belong to the aggregate. */
  private fsm(input: FsmInput, lastError: string | null = null) {
    const next = transition(this.state, input);
    const changes: ContextChanges = { state: next.state, activeRunId: activeRunIdOf(next.state) };
    if (input.type === 'failure' || (input.type === 'lease_expired' && !input.requeue)) changes.lastError = lastError;
    // A run that answered clears the last failure: it is no longer the chat's news.
    if (input.type === 'model_finished' && this.context.lastError !== null) changes.lastError = null;
    this.emit('context.updated', { changes });
    if (input.type === 'user_message_accepted') this.attachQueued(this.run(input.runId));
    if (next.effects.includes('start_next_run')) this.startNextQueued();
    return next;
  }

  private startNextQueued() {
    const next = this.queue[0];
    if (next && this.state.type === 'Idle') this.fsm({ type: 'user_message_accepted', runId: next.id });
    else if (!next) this.attachQueued(null);
  }

  /**
   * Queued questions join their branch's transcript when their turn comes: the starting run's own
   * question, and before it those whose run was cancelled while they waited (with no run next, all
   * of those). Each goes after its branch's head with the next seq, so a path read by seq is in order.
   */
  private attachQueued(starting: RunRecord | null) {
    const due = [...this.view.messages.values()]
      .filter((m) => {
        if (m.status !== 'queued' || !m.runId) return false;
        const run = this.view.runs.get(m.runId);
        if (!run) return false;
        if (run === starting) return true;
        return TERMINAL_RUN_STATUSES.includes(run.status) && (!starting || run.createdAt <= starting.createdAt);
      })
      .sort((a, b) => a.seq - b.seq);
    for (const m of due) {
      this.emit('message.attached', { messageId: m.id, parentId: this.branch(m.branchId).headMessageId, seq: this.context.lastMessageSeq + 1 });
    }
  }

  /** A new message at the head of a branch, next in the context's seq order. */
  private appendMessage(
    branchId: string,
    message: Pick<MessageRecord, 'id' | 'role' | 'parts' | 'status' | 'runId' | 'clientMessageId'>,
  ): MessageRecord {
    const branch = this.branch(branchId);
    this.emit('message.created', {
      message: {
        ...message,
        branchId: branch.id,
        parentId: branch.headMessageId,
        seq: this.context.lastMessageSeq + 1,
        createdAt: toIso(this.clock()),
      },
    });
    return this.view.messages.get(message.id)!;
  }

  private queueRun(runId: string, branchId: string, triggerMessageId: string) {
    // Queue order is the order of acceptance (writers are serialised): a run is never queued "before" an
    // open one, even when this instance's clock is behind the one that queued it.
    let queuedAt = this.clock().getTime();
    for (const r of this.view.runs.values()) {
      if (!TERMINAL_RUN_STATUSES.includes(r.status)) queuedAt = Math.max(queuedAt, r.createdAt.getTime() + 1);
    }
    this.emit('run.queued', { run: { id: runId, branchId, triggerMessageId, createdAt: toIso(new Date(queuedAt)) } });
    if (this.state.type === 'Idle') this.fsm({ type: 'user_message_accepted', runId });
  }

  private fork(branchId: string, forkedFromMessageId: string, headMessageId: string | null) {
    this.emit('branch.created', {
      branch: {
        id: branchId,
        name: `branch-${this.view.branches.size + 1}`,
        headMessageId,
        forkedFromMessageId,
        createdAt: toIso(this.clock()),
      },
    });
    this.emit('branch.switched', { branchId });
  }

  private markStreaming(runId: string, status: 'interrupted' | 'cancelled' | 'error') {
    for (const message of this.messagesOf(runId)) {
      if (message.status === 'streaming') this.emit('message.interrupted', { messageId: message.id, status });
    }
  }

  private resultAlreadySent(call: ToolCallRecord): boolean {
    return [...this.view.messages.values()].some(
      (m) => m.role === 'tool' && m.runId === call.runId && m.parts.some((p) => p.type === 'tool-result' && p.toolCallId === call.id),
    );
  }

  private assertLive() {
    if (this.context.deletedAt) throw notFound('context', this.id);
  }

  private assertMayStartRun() {
    const active = this.activeRun;
    if (active && this.context.busyPolicy === 'reject') {
      throw new DomainError('conflict', 'CONTEXT_BUSY', 'the context is busy with another run', { activeRunId: active.id });
    }
  }

  private activeBranch() {
    return this.branch(this.context.activeBranchId ?? '');
  }

  private branch(branchId: string) {
    const branch = this.view.branches.get(branchId);
    if (!branch) throw notFound('branch', branchId);
    return branch;
  }

  private setLease(run: RunRecord, owner: string | null, until: Date | null) {
    run.leaseOwner = owner;
    run.leaseExpiresAt = until;
    this.infraDirty = true;
    this.track({ table: 'run', id: run.id, isNew: false, lease: true });
  }

  private track(change: RowChange) {
    const key = `${change.table}:${change.id}`;
    const existing = this.changes.get(key);
    this.changes.set(key, {
      ...change,
      isNew: (existing?.isNew ?? false) || change.isNew,
      lease: (existing?.lease ?? false) || (change.lease ?? false),
    });
  }

  private emit<T extends EventType>(type: T, payload: EventPayloads[T]) {
    const event = {
      contextId: this.view?.context.id ?? (payload as EventPayloads['context.created']).context.id,
      seq: (this.view?.context.lastEventSeq ?? 0) + 1,
      type,
      payload,
      createdAt: this.clock(),
    } as ContextEvent;
    assertLegal(this.view ?? null, event);
    this.view = applyEvent(this.view ?? null, event, (table, id, isNew) => this.track({ table, id, isNew }));
    this.newEvents.push(event);
  }
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

