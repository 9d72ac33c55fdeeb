import { IllegalTransitionError } from './errors.ts';
import type { ContextState, PendingToolCall } from './state.ts';

/**
 * The context state machine (DESIGN §4): one pure function, one table.
 * Inputs are commands or facts; effects tell the caller what must happen next.
 */
export type FsmInput =
  | { type: 'user_message_accepted'; runId: string }
  | { type: 'model_finished' }
  | { type: 'tools_requested'; pendingApproval: PendingToolCall[] }
  | { type: 'tools_decided'; stillPending: PendingToolCall[] }
  | { type: 'tool_results_in' }
  | { type: 'cancel' }
  | { type: 'failure'; error: string }
  | { type: 'lease_expired'; requeue: boolean };

export type FsmEffect = 'call_model' | 'await_approval' | 'execute_tools' | 'start_next_run' | 'requeue_run';

export interface Transition {
  state: ContextState;
  effects: FsmEffect[];
}

type Busy = Exclude<ContextState, { type: 'Idle' }>;

export function transition(state: ContextState, input: FsmInput): Transition {
  const illegal = () => new IllegalTransitionError(state.type, input.type);
  switch (input.type) {
    case 'user_message_accepted':
      if (state.type !== 'Idle') throw illegal();
      return { state: { type: 'ProcessingUserMessage', runId: input.runId }, effects: ['call_model'] };

    case 'model_finished':
      if (state.type !== 'ProcessingUserMessage') throw illegal();
      return { state: { type: 'Idle' }, effects: ['start_next_run'] };

    case 'tools_requested':
      if (state.type !== 'ProcessingUserMessage') throw illegal();
      return input.pendingApproval.length > 0
        ? {
            state: { type: 'AwaitingToolApproval', runId: state.runId, pendingToolCalls: input.pendingApproval },
            effects: ['await_approval'],
          }
        : { state: { type: 'ExecutingTools', runId: state.runId }, effects: ['execute_tools'] };

    case 'tools_decided':
      if (state.type !== 'AwaitingToolApproval') throw illegal();
      return input.stillPending.length > 0
        ? { state: { ...state, pendingToolCalls: input.stillPending }, effects: ['await_approval'] }
        : { state: { type: 'ExecutingTools', runId: state.runId }, effects: ['execute_tools'] };

    case 'tool_results_in':
      if (state.type !== 'ExecutingTools') throw illegal();
      return { state: { type: 'ProcessingUserMessage', runId: state.runId }, effects: ['call_model'] };

    case 'cancel':
    case 'failure':
      if (state.type === 'Idle') throw illegal();
      return { state: { type: 'Idle' }, effects: ['start_next_run'] };

    case 'lease_expired':
      if (state.type === 'Idle') throw illegal();
      return input.requeue
        ? { state: state as Busy, effects: ['requeue_run'] }
        : { state: { type: 'Idle' }, effects: ['start_next_run'] };
  }
}
