import type { StreamItem } from '@chat/api';
import type { Client } from './server.ts';
import { waitFor } from './server.ts';

/**
 * A live `events.onContext` subscription over real SSE, recording what
 * arrives, and assembling reply texts the way a client must: persisted events
 * applied once by seq, deltas applied at their offset. Anything that would be
 * a gap or a repeat is recorded in `anomalies`.
 */
/** `known`: the reply texts a resuming client already holds (what it received before it disconnected). */
export function subscribe(client: Client, contextId: string, lastEventId?: string, known?: Map<string, string>) {
  const items: { id: string; data: StreamItem }[] = [];
  const errors: unknown[] = [];
  const texts = new Map<string, string>(known);
  const anomalies: string[] = [];
  let lastSeq = lastEventId ? Number(lastEventId) : 0;
  let started = false;

  const apply = (item: StreamItem) => {
    if (item.kind === 'event') {
      if (item.seq <= lastSeq) return anomalies.push(`repeated event ${item.seq}`);
      if (item.seq !== lastSeq + 1) anomalies.push(`gap before event ${item.seq} (had ${lastSeq})`);
      lastSeq = item.seq;
      if (item.type === 'message.created') texts.set(item.payload.message.id, textOf(item.payload.message.parts));
      if (item.type === 'message.checkpointed') {
        const { messageId, offset, text } = item.payload;
        const have = texts.get(messageId) ?? '';
        if (offset > have.length) anomalies.push(`checkpoint gap in ${messageId}`);
        texts.set(messageId, have.slice(0, offset) + text);
      }
      if (item.type === 'message.completed') texts.set(item.payload.messageId, textOf(item.payload.parts));
      if (item.type === 'message.restarted') texts.set(item.payload.messageId, '');
    } else if (item.type === 'context.snapshot') {
      lastSeq = item.afterSeq; // the state as of this seq: events continue after it
    } else if (item.type === 'message.snapshot') {
      texts.set(item.payload.messageId, item.payload.text);
    } else {
      const { messageId, offset, text } = item.payload;
      const have = texts.get(messageId) ?? '';
      if (offset !== have.length) anomalies.push(`delta at ${offset} but text has ${have.length} chars`);
      texts.set(messageId, have.slice(0, offset) + text);
    }
  };

  const subscription = client.events.onContext.subscribe(
    { contextId, ...(lastEventId !== undefined ? { lastEventId } : {}) },
    {
      onStarted: () => (started = true),
      onData: (data) => {
        const item = data as unknown as { id: string; data: StreamItem };
        items.push(item);
        apply(item.data);
      },
      onError: (error) => errors.push(error),
    },
  );

  return {
    items,
    errors,
    texts,
    anomalies,
    get lastEventId() {
      return items.at(-1)?.id;
    },
    get started() {
      return started;
    },
    events: () => items.flatMap((i) => (i.data.kind === 'event' ? [i.data] : [])),
    deltas: () => items.flatMap((i) => (i.data.kind === 'ephemeral' && i.data.type === 'message.delta' ? [i.data] : [])),
    until: (predicate: (item: StreamItem) => boolean, timeoutMs = 30_000) =>
      waitFor(async () => items.some((i) => predicate(i.data)), { timeoutMs, what: 'a subscription item' }),
    close: () => subscription.unsubscribe(),
  };
}

function textOf(parts: unknown): string {
  return (parts as { type: string; text?: string }[]).map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');
}
