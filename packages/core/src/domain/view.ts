import type { BranchRecord, ContextRecord, MessageRecord, RunRecord, ToolCallRecord } from './records.ts';

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
