import {
  parseFailure,
  type ContextAggregate,
  type ContextChanges,
  type ContextEvent,
  type ContextRecord,
  type Failure,
  type RunRecord,
} from '@chat/core';

/**
 * What clients see of the rows (DESIGN §9, §13): a failure is `{ code, message }`
 * (a stable category and a safe sentence, never raw error text), and a run's
 * lease (which instance holds it, until when) stays inside the server.
 */
export type PublicRun = Omit<RunRecord, 'leaseOwner' | 'leaseExpiresAt' | 'error'> & { error: Failure | null };
export type PublicContext = Omit<ContextRecord, 'lastError'> & { lastError: Failure | null };

export function publicRun(run: RunRecord): PublicRun {
  const { leaseOwner: _owner, leaseExpiresAt: _until, error, ...rest } = run;
  return { ...rest, error: parseFailure(error) };
}

export function publicContext(context: ContextRecord): PublicContext {
  return { ...context, lastError: parseFailure(context.lastError) };
}

type EventOf<T extends ContextEvent['type']> = Extract<ContextEvent, { type: T }>;
type WithPayload<E, P> = Omit<E, 'payload'> & { payload: P };
type FailedRun<T extends 'run.failed' | 'run.interrupted'> = WithPayload<EventOf<T>, Omit<EventOf<T>['payload'], 'error'> & { error: Failure }>;

export type PublicEvent =
  | Exclude<ContextEvent, { type: 'context.updated' | 'run.failed' | 'run.interrupted' }>
  | WithPayload<EventOf<'context.updated'>, { changes: Omit<ContextChanges, 'lastError'> & { lastError?: Failure | null } }>
  | FailedRun<'run.failed'>
  | FailedRun<'run.interrupted'>;

export function publicEvent(event: ContextEvent): PublicEvent {
  switch (event.type) {
    case 'context.updated': {
      const { changes } = event.payload;
      if (changes.lastError === undefined) return event as PublicEvent;
      return { ...event, payload: { changes: { ...changes, lastError: parseFailure(changes.lastError) } } };
    }
    case 'run.failed':
    case 'run.interrupted':
      return { ...event, payload: { ...event.payload, error: parseFailure(event.payload.error)! } } as PublicEvent;
    default:
      return event;
  }
}

/** The state object clients render (DESIGN §9 `context.state`). */
export function stateView(a: ContextAggregate) {
  const state = a.state;
  return {
    state,
    version: a.context.version,
    lastEventSeq: a.context.lastEventSeq,
    lastError: parseFailure(a.context.lastError),
    activeRun: a.activeRun ? publicRun(a.activeRun) : null,
    queue: a.queue.map(publicRun),
    pendingToolCalls: state.type === 'AwaitingToolApproval' ? state.pendingToolCalls : [],
  };
}
