import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, isDomainError } from './errors.ts';
import { transition, type FsmInput } from './fsm.ts';
import type { ContextState } from './state.ts';

const idle: ContextState = { type: 'Idle' };
const processing: ContextState = { type: 'ProcessingUserMessage', runId: 'r1' };
const call = { id: 't1', name: 'save_note', args: { title: 'a' } };
const call2 = { id: 't2', name: 'save_note', args: { title: 'b' } };
const awaiting: ContextState = { type: 'AwaitingToolApproval', runId: 'r1', pendingToolCalls: [call, call2] };
const executing: ContextState = { type: 'ExecutingTools', runId: 'r1' };

describe('FSM: every legal transition of DESIGN §4', () => {
  const cases: [string, ContextState, FsmInput, ContextState, string[]][] = [
    ['Idle + user message', idle, { type: 'user_message_accepted', runId: 'r1' }, processing, ['call_model']],
    ['Processing + model finished', processing, { type: 'model_finished' }, idle, ['start_next_run']],
    [
      'Processing + tools needing approval',
      processing,
      { type: 'tools_requested', pendingApproval: [call, call2] },
      awaiting,
      ['await_approval'],
    ],
    ['Processing + only auto tools', processing, { type: 'tools_requested', pendingApproval: [] }, executing, ['execute_tools']],
    [
      'Awaiting + some decided',
      awaiting,
      { type: 'tools_decided', stillPending: [call2] },
      { type: 'AwaitingToolApproval', runId: 'r1', pendingToolCalls: [call2] },
      ['await_approval'],
    ],
    ['Awaiting + all decided', awaiting, { type: 'tools_decided', stillPending: [] }, executing, ['execute_tools']],
    ['Executing + results in', executing, { type: 'tool_results_in' }, processing, ['call_model']],
    ['Processing + lease expired, retried', processing, { type: 'lease_expired', requeue: true }, processing, ['requeue_run']],
    ['Executing + lease expired, given up', executing, { type: 'lease_expired', requeue: false }, idle, ['start_next_run']],
  ];
  it.each(cases)('%s', (_name, from, input, to, effects) => {
    expect(transition(from, input)).toEqual({ state: to, effects });
  });

  it.each([processing, awaiting, executing])('cancel and failure from %o go to Idle and start the next run', (from) => {
    expect(transition(from, { type: 'cancel' })).toEqual({ state: idle, effects: ['start_next_run'] });
    expect(transition(from, { type: 'failure', error: 'x' })).toEqual({ state: idle, effects: ['start_next_run'] });
  });
});

describe('FSM: illegal transitions are typed errors', () => {
  const illegal: [ContextState, FsmInput][] = [
    [processing, { type: 'user_message_accepted', runId: 'r2' }],
    [awaiting, { type: 'user_message_accepted', runId: 'r2' }],
    [idle, { type: 'model_finished' }],
    [awaiting, { type: 'model_finished' }],
    [idle, { type: 'tools_requested', pendingApproval: [] }],
    [executing, { type: 'tools_requested', pendingApproval: [] }],
    [processing, { type: 'tools_decided', stillPending: [] }],
    [idle, { type: 'tool_results_in' }],
    [awaiting, { type: 'tool_results_in' }],
    [idle, { type: 'cancel' }],
    [idle, { type: 'failure', error: 'x' }],
    [idle, { type: 'lease_expired', requeue: true }],
  ];
  it.each(illegal)('%o on %o', (from, input) => {
    let thrown: unknown;
    try {
      transition(from, input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    expect(isDomainError(thrown) && thrown.appCode).toBe('ILLEGAL_TRANSITION');
    expect((thrown as IllegalTransitionError).from).toBe(from.type);
  });
});
