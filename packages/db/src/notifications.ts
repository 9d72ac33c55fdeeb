/** Postgres NOTIFY channels and payloads shared by the repository and the event bus. */
export const EVENTS_CHANNEL = 'chat_events';
export const EPHEMERAL_CHANNEL = 'chat_ephemeral';

/** Sent on commit of a save: context id, first and last event seq, whether a worker may have work. */
export interface EventsNotification {
  c: string;
  f: number;
  s: number;
  w: boolean;
  /** When it was sent (ms since epoch), to measure NOTIFY lag. */
  t?: number;
}
