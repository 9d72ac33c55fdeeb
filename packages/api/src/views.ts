import {
  activeRunOf,
  failureText,
  parseFailure,
  queueOf,
  type ContextChanges,
  type ContextEvent,
  type ContextRecord,
  type ContextView,
  type Failure,
  type RunRecord,
} from '@chat/core';

// Pure (imports only core): the web app imports this module to turn what it
// is sent back into core's records and events, apply them with core's reducer,
// and show the result in the same public form.

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

/** The state object clients render (DESIGN §9 `context.state`), from the context's rows (an aggregate's `rows`, or a client's window). */
export function stateView(view: ContextView) {
  const state = view.context.state;
  const activeRun = activeRunOf(view);
  return {
    state,
    version: view.context.version,
    lastEventSeq: view.context.lastEventSeq,
    lastError: parseFailure(view.context.lastError),
    activeRun: activeRun ? publicRun(activeRun) : null,
    queue: queueOf(view).map(publicRun),
    pendingToolCalls: state.type === 'AwaitingToolApproval' ? state.pendingToolCalls : [],
  };
}

// ---- back to the domain's form (clients that apply events with core's reducer) ----

/** A failure as stored (`CODE: sentence`): `parseFailure` gives the same failure back. */
const storedFailure = (f: Failure | null) => (f ? failureText(f) : null);

/** A run as the domain holds it (the lease is the server's: none here). */
export function runRecord(run: PublicRun): RunRecord {
  return { ...run, error: storedFailure(run.error), leaseOwner: null, leaseExpiresAt: null };
}

export function contextRecord(context: PublicContext): ContextRecord {
  return { ...context, lastError: storedFailure(context.lastError) };
}

/** The event as stored: `publicEvent(domainEvent(e))` is `e`. */
export function domainEvent(event: PublicEvent): ContextEvent {
  switch (event.type) {
    case 'context.updated': {
      const { changes } = event.payload;
      if (changes.lastError === undefined) return event as ContextEvent;
      return { ...event, payload: { changes: { ...changes, lastError: storedFailure(changes.lastError) } } };
    }
    case 'run.failed':
    case 'run.interrupted':
      return { ...event, payload: { ...event.payload, error: failureText(event.payload.error) } } as ContextEvent;
    default:
      return event;
  }
}
