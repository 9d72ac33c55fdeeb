import type { BranchRecord, ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from './records.ts';
import { activeRunIdOf } from './state.ts';

/** A context with the rows the aggregate (or a rebuild) holds in memory. */
export interface ContextView {
  context: ContextRecord;
  branches: Map<string, BranchRecord>;
  messages: Map<string, MessageRecord>;
  runs: Map<string, RunRecord>;
  toolCalls: Map<string, ToolCallRecord>;
}

export type Table = 'context' | 'branch' | 'message' | 'run' | 'toolCall';
export type Touch = (table: Table, id: string, isNew: boolean) => void;
/** An event named a record the view does not hold (a client's window of the context). */
export type Missing = (table: Exclude<Table, 'context'>, id: string) => void;

/** The run the context's state names (null when idle, or when the view does not hold it). */
export function activeRunOf(view: ContextView): RunRecord | null {
  const id = activeRunIdOf(view.context.state);
  return id ? (view.runs.get(id) ?? null) : null;
}

/** Runs waiting behind the active one, in the order they will execute. */
export function queueOf(view: ContextView): RunRecord[] {
  const active = activeRunIdOf(view.context.state);
  const triggerSeq = (run: RunRecord) => view.messages.get(run.triggerMessageId)?.seq ?? Number.MAX_SAFE_INTEGER;
  // In the order they were queued (a regenerated reply's trigger is an old message, so not by trigger).
  return [...view.runs.values()]
    .filter((r) => r.status === 'pending' && r.id !== active)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || triggerSeq(a) - triggerSeq(b) || a.id.localeCompare(b.id));
}
