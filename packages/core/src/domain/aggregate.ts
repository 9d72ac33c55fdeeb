import { assertLegal } from './lifecycle.ts';
import type { ContextEvent, EventPayloads, EventType } from './events.ts';
import { toIso } from './events.ts';
import type { ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from './records.ts';
import { applyEvent } from './reducer.ts';
import type { ContextState } from './state.ts';
import { queueOf, type ContextView, type Table } from './view.ts';
import * as contextCommands from './commands/context.ts';
import * as reply from './commands/reply.ts';
import * as runs from './commands/runs.ts';
import * as tools from './commands/tools.ts';
import * as turns from './commands/turns.ts';
import { activeRun, messagesOf, runOf, toolCallsOf, type Clock, type Tx } from './commands/tx.ts';

export type { Clock, Tx } from './commands/tx.ts';
export type { RequestedToolCall } from './commands/reply.ts';
export type { ToolDecision } from './commands/tools.ts';
export type { ContextSettings } from './commands/context.ts';
export type { UserMessageInput } from './commands/turns.ts';
export { toolResultFor } from './commands/tools.ts';

export interface RowChange {
  table: Table;
  id: string;
  isNew: boolean;
  /** A run's lease columns changed (they are infrastructure: not in the event log). */
  lease?: boolean;
}

/**
 * The context aggregate (DESIGN §5): a change recorder. The rules live in the
 * command modules (`commands/`), each a function of the context's rows and
 * an input that emits events; the recorder checks each event against the
 * lifecycle tables, applies it with the shared reducer, and keeps it and the
 * rows it changed for the repository to save. `isDirty` is true exactly when
 * there is something to save.
 */
export class ContextAggregate {
  private readonly changes = new Map<string, RowChange>();
  private readonly newEvents: ContextEvent[] = [];
  private infraDirty = false;
  private readonly tx: Tx;

  private constructor(
    private view: ContextView,
    private readonly clock: Clock,
    readonly expectedVersion: number | null,
  ) {
    const self = this;
    this.tx = {
      get view() {
        return self.view;
      },
      clock,
      emit: (type, payload) => this.emit(type, payload),
      setLease: (run, owner, until) => this.setLease(run, owner, until),
    };
  }

  static create(
    input: Pick<ContextRecord, 'id' | 'ownerId' | 'title' | 'model' | 'mode' | 'systemPrompt' | 'busyPolicy'> & { mainBranchId: string },
    clock: Clock,
  ): ContextAggregate {
    const now = toIso(clock());
    const draft = new ContextAggregate(null as unknown as ContextView, clock, null);
    const { id, ownerId, title, model, mode, systemPrompt, busyPolicy } = input;
    draft.emit('context.created', { context: { id, ownerId, title, model, mode, systemPrompt, busyPolicy, createdAt: now } });
    draft.emit('branch.created', { branch: { id: input.mainBranchId, name: 'main', headMessageId: null, forkedFromMessageId: null, createdAt: now } });
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
    return runOf(this.view, runId);
  }
  get activeRun(): RunRecord | null {
    return activeRun(this.view);
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
    return toolCallsOf(this.view, runId);
  }
  /** Tool calls of the run whose result the model has not received yet. */
  unsentToolCalls(runId: string): ToolCallRecord[] {
    return tools.unsentToolCalls(this.view, runId);
  }
  /** A loaded message by its client id (load it with `clientMessageIds`). */
  messageByClientId(clientMessageId: string): MessageRecord | null {
    for (const m of this.view.messages.values()) if (m.clientMessageId === clientMessageId) return m;
    return null;
  }
  messagesOf(runId: string): MessageRecord[] {
    return messagesOf(this.view, runId);
  }

  /** Called by the repository once the transaction committed. */
  markCommitted(newVersion: number) {
    this.view.context.version = newVersion;
    (this as { expectedVersion: number | null }).expectedVersion = newVersion;
    this.changes.clear();
    this.newEvents.length = 0;
    this.infraDirty = false;
  }

  // ---- commands (each in its module; the aggregate only records) ----------------

  update(changes: contextCommands.ContextSettings) {
    contextCommands.updateContext(this.tx, changes);
  }
  transferTo(ownerId: string) {
    contextCommands.transferContext(this.tx, ownerId);
  }
  delete() {
    contextCommands.deleteContext(this.tx);
  }
  switchBranch(branchId: string) {
    contextCommands.switchBranch(this.tx, branchId);
  }

  acceptUserMessage(input: turns.UserMessageInput) {
    return turns.acceptUserMessage(this.tx, input);
  }
  regenerate(input: { messageId: string; runId: string; newBranchId: string }) {
    return turns.regenerate(this.tx, input);
  }

  claimRun(runId: string, owner: string, leaseExpiresAt: Date) {
    return runs.claimRun(this.tx, runId, owner, leaseExpiresAt);
  }
  assertLease(runId: string, owner: string) {
    return runs.assertLease(this.tx, runId, owner);
  }
  releaseLease(runId: string) {
    runs.releaseLease(this.tx, runId);
  }
  cancel(runId?: string) {
    return runs.cancel(this.tx, runId);
  }
  fail(runId: string, error: string) {
    runs.fail(this.tx, runId, error);
  }
  recover(runId: string, maxAttempts: number) {
    runs.recover(this.tx, runId, maxAttempts);
  }

  startReply(runId: string, owner: string, messageId: string) {
    return reply.startReply(this.tx, runId, owner, messageId);
  }
  checkpoint(messageId: string, text: string) {
    reply.checkpoint(this.tx, messageId, text);
  }
  flushCancelledText(runId: string, messageId: string, text: string) {
    reply.flushCancelledText(this.tx, runId, messageId, text);
  }
  completeReply(runId: string, owner: string, messageId: string, r: { text: string; toolCalls: reply.RequestedToolCall[] }) {
    reply.completeReply(this.tx, runId, owner, messageId, r);
  }

  decideTools(runId: string, decisions: tools.ToolDecision[], decidedBy: string, expired = false) {
    tools.decideTools(this.tx, runId, decisions, decidedBy, expired);
  }
  expireApprovals(timeoutMs: number) {
    return tools.expireApprovals(this.tx, timeoutMs);
  }
  claimTool(runId: string, owner: string, toolCallId: string) {
    return tools.claimTool(this.tx, runId, owner, toolCallId);
  }
  finishTool(runId: string, owner: string, toolCallId: string, outcome: { ok: boolean; result: unknown }) {
    tools.finishTool(this.tx, runId, owner, toolCallId, outcome);
  }
  completeToolStep(runId: string, owner: string, messageId: string) {
    tools.completeToolStep(this.tx, runId, owner, messageId);
  }

  /**
   * A command as a pure function: the events it would emit on a copy of
   * `view` (the view itself is left as it is), and what it returned. Lease
   * changes (`claimRun`, `releaseLease`) are not events: they show only in the
   * copy's runs. Throws what the command throws.
   */
  static decide<R>(view: ContextView, clock: Clock, command: (tx: Tx) => R): { events: readonly ContextEvent[]; result: R } {
    const draft = ContextAggregate.load(structuredClone(view), clock);
    const result = command(draft.tx);
    return { events: draft.uncommittedEvents, result };
  }

  // ---- the recorder -----------------------------------------------------------

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

export const decide = ContextAggregate.decide;
