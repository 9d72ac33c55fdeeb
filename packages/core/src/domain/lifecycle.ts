import { IllegalTransitionError } from './errors.ts';
import type { ContextEvent } from './events.ts';
import type { MessageStatus, RunStatus, ToolCallStatus } from './records.ts';
import type { ContextView } from './view.ts';

/**
 * The lifecycles of the records a context holds, in one table each: from a
 * status, the statuses a command may move a record to (the context's own
 * state machine is `transition` in fsm.ts). Every event a command emits is
 * checked here before it is applied (`assertLegal`), so no command can, for
 * example, complete a cancelled run or run a denied tool call, whatever its
 * own checks. The reducer does not check: it replays what was stored.
 */
export const RUN_LIFECYCLE: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  // Claimed by a worker; cancelled or failed while still queued.
  pending: ['processing', 'cancelled', 'error'],
  // The model asked for tools needing approval; the reply ended; handed back after a crash (pending again).
  processing: ['awaiting_approval', 'pending', 'completed', 'error', 'cancelled', 'interrupted'],
  // Every call decided (or expired): the run goes on.
  awaiting_approval: ['processing', 'cancelled', 'error'],
  completed: [],
  error: [],
  cancelled: [],
  interrupted: [],
};

export const TOOL_CALL_LIFECYCLE: Readonly<Record<ToolCallStatus, readonly ToolCallStatus[]>> = {
  pending_approval: ['approved', 'denied', 'expired'],
  // Claimed before it runs (so it runs once); denied when its run is cancelled first.
  approved: ['running', 'denied'],
  // A crash while running records it failed: it is never run again.
  running: ['succeeded', 'failed'],
  denied: [],
  expired: [],
  succeeded: [],
  failed: [],
};

export const MESSAGE_LIFECYCLE: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  // A question waiting behind a running reply joins its branch when its run starts.
  queued: ['complete'],
  streaming: ['complete', 'interrupted', 'cancelled', 'error'],
  // A run retried after a crash answers again in its interrupted reply.
  interrupted: ['streaming'],
  complete: [],
  cancelled: [],
  error: [],
};

export const TERMINAL_RUN_STATUSES = statusesWithout(RUN_LIFECYCLE);
export const SETTLED_TOOL_STATUSES = statusesWithout(TOOL_CALL_LIFECYCLE);

function statusesWithout<S extends string>(table: Readonly<Record<S, readonly S[]>>): readonly S[] {
  return (Object.keys(table) as S[]).filter((s) => table[s].length === 0);
}

const RUN_ENDINGS = {
  'run.completed': 'completed',
  'run.failed': 'error',
  'run.cancelled': 'cancelled',
  'run.interrupted': 'interrupted',
} as const;

/** The record an event moves and the status it moves it to (null: the event changes no status). */
function movement(event: ContextEvent): { table: 'run' | 'toolCall' | 'message'; id: string; to: string } | null {
  switch (event.type) {
    case 'run.started':
      return { table: 'run', id: event.payload.runId, to: 'processing' };
    case 'run.status_changed':
      return { table: 'run', id: event.payload.runId, to: event.payload.status };
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
    case 'run.interrupted':
      return { table: 'run', id: event.payload.runId, to: RUN_ENDINGS[event.type] };
    case 'tool.decided':
      return { table: 'toolCall', id: event.payload.toolCallId, to: event.payload.status };
    case 'tool.started':
      return { table: 'toolCall', id: event.payload.toolCallId, to: 'running' };
    case 'tool.finished':
      return { table: 'toolCall', id: event.payload.toolCallId, to: event.payload.status };
    case 'message.completed':
    case 'message.attached':
      return { table: 'message', id: event.payload.messageId, to: 'complete' };
    case 'message.restarted':
      return { table: 'message', id: event.payload.messageId, to: 'streaming' };
    case 'message.interrupted':
      return { table: 'message', id: event.payload.messageId, to: event.payload.status };
    default:
      return null;
  }
}

/** Throws IllegalTransitionError when `event` would move a record along no edge of its lifecycle. */
export function assertLegal(view: ContextView | null, event: ContextEvent): void {
  const move = movement(event);
  if (!move || !view) return;
  const record =
    move.table === 'run' ? view.runs.get(move.id) : move.table === 'toolCall' ? view.toolCalls.get(move.id) : view.messages.get(move.id);
  if (!record) return; // the reducer reports a missing record
  const from = record.status;
  const table = (move.table === 'run' ? RUN_LIFECYCLE : move.table === 'toolCall' ? TOOL_CALL_LIFECYCLE : MESSAGE_LIFECYCLE) as Record<
    string,
    readonly string[]
  >;
  if (!table[from]?.includes(move.to)) throw new IllegalTransitionError(`${move.table} ${move.id} ${from}`, `${event.type} (to ${move.to})`);
}
