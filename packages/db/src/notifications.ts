/** Postgres NOTIFY channels and payloads shared by the repository and the event bus. */
export const EVENTS_CHANNEL = 'chat_events';
export const EPHEMERAL_CHANNEL = 'chat_ephemeral';

/** NOTIFY payloads must stay under 8000 bytes. */
export const MAX_NOTIFY_BYTES = 7800;

/** An event as a notification carries it (createdAt as an ISO string). */
export interface NotifiedEvent {
  seq: number;
  type: string;
  payload: unknown;
  createdAt: string;
}

/**
 * Sent on commit of a save: context id, first and last event seq, whether a
 * worker may have work, and the events themselves when they fit in one
 * payload (else the receiver reads them from the log).
 */
export interface EventsNotification {
  c: string;
  f: number;
  s: number;
  w: boolean;
  /** When it was sent (ms since epoch), to measure NOTIFY lag. */
  t?: number;
  /** The events f..s, in order, when they fit. */
  e?: NotifiedEvent[];
}
