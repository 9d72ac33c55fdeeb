import type {
  BranchRecord,
  BusyPolicy,
  ContextMode,
  ContextRecord,
  MessagePart,
  MessageRecord,
  MessageStatus,
  RunRecord,
  RunStatus,
  ToolCallRecord,
  ToolCallStatus,
} from './records.ts';
import type { ContextState } from './state.ts';

/**
 * Persisted event types (DESIGN §8) and their payloads. Payloads are plain
 * JSON (dates as ISO strings) because they are stored and sent as they are.
 * `message.checkpointed` carries the text appended since the previous
 * checkpoint, so the log alone reproduces every reply exactly.
 */
type Iso = string;
type Json<T> = { [K in keyof T]: T[K] extends Date ? Iso : T[K] extends Date | null ? Iso | null : T[K] };

export type ContextChanges = Partial<{
  /** A guest's chat moving to the account it signed up as (DESIGN §13). */
  ownerId: string;
  title: string;
  model: string;
  systemPrompt: string | null;
  mode: ContextMode;
  busyPolicy: BusyPolicy;
  state: ContextState;
  activeRunId: string | null;
  lastError: string | null;
}>;

export interface EventPayloads {
  'context.created': {
    context: Json<Pick<ContextRecord, 'id' | 'ownerId' | 'title' | 'model' | 'mode' | 'systemPrompt' | 'busyPolicy' | 'createdAt'>>;
  };
  'context.updated': { changes: ContextChanges };
  'context.deleted': { deletedAt: Iso };
  'branch.created': { branch: Json<Omit<BranchRecord, 'contextId'>> };
  'branch.switched': { branchId: string };
  'message.created': { message: Json<Omit<MessageRecord, 'contextId' | 'attempts'>> };
  /** A queued user message joins its branch's transcript (after the head) as its run starts: its place and seq from now on. */
  'message.attached': { messageId: string; parentId: string | null; seq: number };
  /** A retried run answers again in its interrupted reply: the text so far moves to the reply's attempts. */
  'message.restarted': { messageId: string; attempt: number };
  'message.checkpointed': { messageId: string; offset: number; text: string };
  'message.completed': { messageId: string; parts: MessagePart[] };
  'message.interrupted': { messageId: string; status: Exclude<MessageStatus, 'complete' | 'streaming' | 'queued'> };
  'run.queued': { run: Json<Pick<RunRecord, 'id' | 'branchId' | 'triggerMessageId' | 'createdAt'>> };
  'run.started': { runId: string; attempt: number; startedAt: Iso };
  'run.status_changed': { runId: string; status: RunStatus; attempt?: number; reason?: string };
  'run.completed': { runId: string; completedAt: Iso };
  'run.failed': { runId: string; error: string; completedAt: Iso };
  'run.cancelled': { runId: string; completedAt: Iso };
  'run.interrupted': { runId: string; error: string; completedAt: Iso };
  'tool.requested': { toolCall: Json<Omit<ToolCallRecord, 'result'>> & { result: unknown } };
  'tool.decided': { toolCallId: string; status: ToolCallStatus; decidedBy: string; decidedAt: Iso; reason: string | null };
  'tool.started': { toolCallId: string };
  'tool.finished': { toolCallId: string; status: 'succeeded' | 'failed'; result: unknown };
}

export type EventType = keyof EventPayloads;
export const EVENT_TYPES = [
  'context.created',
  'context.updated',
  'context.deleted',
  'branch.created',
  'branch.switched',
  'message.created',
  'message.checkpointed',
  'message.completed',
  'message.interrupted',
  'message.attached',
  'message.restarted',
  'run.queued',
  'run.started',
  'run.status_changed',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.interrupted',
  'tool.requested',
  'tool.decided',
  'tool.started',
  'tool.finished',
] as const satisfies readonly EventType[];

export type ContextEvent = {
  [T in EventType]: { contextId: string; seq: number; type: T; payload: EventPayloads[T]; createdAt: Date };
}[EventType];

/** Ephemeral events: sent to subscribers, never stored. */
export type EphemeralEvent =
  | { type: 'message.delta'; contextId: string; payload: { messageId: string; offset: number; text: string } }
  | { type: 'message.snapshot'; contextId: string; payload: { messageId: string; text: string; status: MessageStatus } };

export const toIso = (d: Date) => d.toISOString();
export const fromIso = (s: Iso) => new Date(s);
export const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
export const dateOrNull = (s: Iso | null | undefined) => (s ? new Date(s) : null);
