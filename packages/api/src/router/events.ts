import { textOf, type BusEvent, type ContextEvent, type EphemeralEvent, type MessageRecord } from '@chat/core';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { toTRPCError } from '../errors.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { contextRef, MAX_INT } from './inputs.ts';
import { ownedContext } from './owner.ts';
import { publicContext, publicEvent, type PublicContext, type PublicEvent } from '../views.ts';

/**
 * What a subscriber receives: persisted events (with seq) and ephemeral ones.
 * `context.snapshot` comes first when the client gave no `lastEventId` or is
 * too far behind: the context as of `afterSeq` (read its messages with
 * `context.get`), then the events after it.
 */
export type StreamItem =
  | ({ kind: 'event' } & PublicEvent)
  | ({ kind: 'ephemeral'; afterSeq: number } & EphemeralEvent)
  | { kind: 'ephemeral'; afterSeq: number; type: 'context.snapshot'; contextId: string; payload: { lastEventSeq: number; context: PublicContext } };

const BACKLOG_PAGE = 500;
/** A client further behind than this gets a snapshot instead of the log (DESIGN §7: reconnecting costs a bounded read). */
export const MAX_CATCH_UP_EVENTS = 1000;

/** Subscriptions per context in this process. */
const watchers = new Map<string, number>();

/**
 * How often one subscriber gets a delta: every delta for a few watchers, and
 * less often as a chat draws a crowd (1 ms per watcher: 300 watchers get
 * about 3 a second each), so the fan-out's cost stays bounded and the reply
 * itself keeps its pace. Nothing is lost: waiting deltas are merged.
 */
const deltaPaceMs = (watching: number) => (watching <= 20 ? 0 : Math.min(1000, watching));

/** `lastEventId` is the `"<seq>"` of the last event the client has (absent: a snapshot, then live). */
const lastEventId = z
  .string()
  .regex(/^\d{1,10}$/, 'must be an event seq')
  .refine((id) => Number(id) <= MAX_INT, 'is too large')
  .nullish();

export const eventsRouter = router({
  list: protectedProcedure
    .input(
      contextRef.extend({
        afterSeq: z.number().int().min(0).max(MAX_INT).default(0),
        limit: z.number().int().min(1).max(1000).default(200),
      }),
    )
    .query(async ({ ctx, input }) => {
      const context = await ownedContext(ctx, input.contextId);
      const events = await ctx.services.reads.events(input.contextId, input.afterSeq, input.limit);
      return { events: events.map(publicEvent), lastSeq: context.lastEventSeq };
    }),

  /**
   * Resumable live stream (DESIGN §7): listen first, then send every persisted
   * event after `lastEventId`, then a snapshot of any reply still streaming,
   * then live events. Deltas are trimmed so a client gets each character of a
   * reply exactly once and never a gap. A delta carries the text since the
   * last checkpoint, so a client that joins with the checkpointed snapshot can
   * continue from the next delta; joining writes nothing.
   */
  onContext: protectedProcedure
    .input(contextRef.extend({ lastEventId }))
    .subscription(async function* ({ ctx, input, signal }) {
      const { reads, bus } = ctx.services;
      // Errors thrown while a subscription iterates skip the procedure middleware: map this one here,
      // or the client would see INTERNAL_SERVER_ERROR and keep reconnecting.
      const context = await ownedContext(ctx, input.contextId).catch((error) => {
        throw toTRPCError(error);
      });
      const inbox: BusEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = bus.subscribe(input.contextId, (event) => {
        inbox.push(event);
        wake?.();
      });
      const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
      let lastSeq = input.lastEventId ? Number(input.lastEventId) : 0;
      // No resume point, or one too old: the current state, then what follows it (never the whole log).
      const snapshot = !input.lastEventId || context.lastEventSeq - lastSeq > MAX_CATCH_UP_EVENTS;
      if (snapshot) lastSeq = context.lastEventSeq;
      /** Characters of each streaming reply this client already has. */
      const sent = new Map<string, number>();

      const persisted = (event: ContextEvent) => {
        lastSeq = event.seq;
        if (event.type === 'message.checkpointed') {
          const { messageId, offset, text } = event.payload;
          sent.set(messageId, Math.max(sent.get(messageId) ?? 0, offset + text.length));
        }
        // A retried run answers again in this reply: its text starts over from 0.
        if (event.type === 'message.restarted') sent.set(event.payload.messageId, 0);
        return tracked(String(event.seq), { kind: 'event', ...publicEvent(event) } as StreamItem);
      };

      /** Every persisted event after the client's last seq, page by page. */
      async function* catchUp() {
        for (;;) {
          const page = await reads.events(input.contextId, lastSeq, BACKLOG_PAGE);
          for (const event of page) yield persisted(event);
          if (page.length < BACKLOG_PAGE) return;
        }
      }

      ctx.services.metrics.subscriptionOpened();
      watchers.set(input.contextId, (watchers.get(input.contextId) ?? 0) + 1);
      let nextDeltaAt = 0;
      try {
        // The join (backlog + snapshot) reads only, and at most MAX_CONCURRENT_JOINS at once per process.
        const joins = ctx.services.admission.joins;
        await joins.acquire();
        let snapshots: { message: MessageRecord; text: string }[];
        try {
          if (snapshot) {
            yield tracked(String(lastSeq), {
              kind: 'ephemeral',
              afterSeq: lastSeq,
              type: 'context.snapshot',
              contextId: input.contextId,
              payload: { lastEventSeq: lastSeq, context: publicContext(context) },
            } as StreamItem);
          }
          yield* catchUp();
          // The text as of its last checkpoint: every later checkpoint event extends it, and the next delta
          // starts from it, so the client continues at once. Never a write.
          snapshots = (await reads.streamingMessages(input.contextId)).map((message) => ({ message, text: textOf(message.parts) }));
        } finally {
          joins.release();
        }
        for (const { message, text } of snapshots) {
          sent.set(message.id, Math.max(sent.get(message.id) ?? 0, text.length));
          yield tracked(String(lastSeq), {
            kind: 'ephemeral',
            afterSeq: lastSeq,
            type: 'message.snapshot',
            contextId: input.contextId,
            payload: { messageId: message.id, text, status: message.status },
          } as StreamItem);
        }

        while (!signal?.aborted) {
          if (inbox.length === 0) {
            await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
            wake = null;
            continue;
          }
          if (inbox[0]!.type === 'message.delta' && Date.now() < nextDeltaAt) {
            // Paced: the deltas arriving meanwhile are merged into the next one.
            await Promise.race([new Promise((r) => setTimeout(r, nextDeltaAt - Date.now())), aborted]);
            continue;
          }
          const event = inbox.shift()!;
          if (event.type === 'message.delta') {
            nextDeltaAt = Date.now() + deltaPaceMs(watchers.get(input.contextId) ?? 1);
            const { messageId } = event.payload;
            const have = sent.get(messageId) ?? 0;
            // A client that fell behind gets the deltas waiting for it as one (fan-out sheds work under load).
            let end = have;
            let fresh = '';
            for (let next: BusEvent | undefined = event; next?.type === 'message.delta' && next.payload.messageId === messageId; next = inbox[0]) {
              if (next !== event) inbox.shift();
              const { offset, text } = next.payload;
              if (offset > end) break; // a gap: dropped; the next checkpoint-based delta or event fills it
              if (offset + text.length > end) {
                fresh += text.slice(end - offset);
                end = offset + text.length;
              }
            }
            if (!fresh) continue;
            sent.set(messageId, end);
            yield tracked(String(lastSeq), {
              kind: 'ephemeral',
              afterSeq: lastSeq,
              ...event,
              payload: { messageId, offset: have, text: fresh },
            } as StreamItem);
          } else if (event.type === 'message.snapshot') {
            continue;
          } else if (event.type === 'resync') {
            yield* catchUp();
          } else if (event.seq > lastSeq) {
            if (event.seq > lastSeq + 1) {
              // The bus skipped ahead (e.g. it reconnected): fill from the log.
              for (const missed of await reads.events(input.contextId, lastSeq, event.seq - lastSeq - 1)) yield persisted(missed);
            }
            if (event.seq > lastSeq) yield persisted(event);
          }
        }
      } finally {
        ctx.services.metrics.subscriptionClosed();
        const left = (watchers.get(input.contextId) ?? 1) - 1;
        if (left > 0) watchers.set(input.contextId, left);
        else watchers.delete(input.contextId);
        unsubscribe();
      }
    }),
});
