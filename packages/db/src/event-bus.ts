import type { BusEvent, ContextEvent, EphemeralEvent, EventBus } from '@chat/core';
import pg from 'pg';
import type { PrismaClient } from './generated/prisma/client.ts';
import { toEvent } from './mappers.ts';
import { CONTROL_CHANNEL, EPHEMERAL_CHANNEL, EVENTS_CHANNEL, type EventsNotification } from './notifications.ts';

/** NOTIFY payloads must stay under 8000 bytes; long deltas are split. */
const MAX_DELTA_CHARS = 1500;

/**
 * Event fan-out over Postgres LISTEN/NOTIFY (DESIGN §8), so every server
 * process sees every change. One listening connection per process. A
 * persisted-event notification carries only ids: the receiver reads the rows.
 * Everything for one context is handled in arrival order through one promise
 * chain, so an ephemeral delta never overtakes the events before it.
 */
export class PostgresEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<(event: BusEvent) => void>>();
  private readonly workListeners = new Set<() => void>();
  private readonly checkpointListeners = new Set<(messageId: string) => void>();
  private readonly cursors = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private listenClient: pg.Client | null = null;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly databaseUrl: string,
    private readonly log: (msg: string, data?: Record<string, unknown>) => void = () => {},
  ) {}

  async start() {
    await this.connect();
  }

  private async connect() {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', (msg) => this.onNotification(msg.channel, msg.payload ?? ''));
    client.on('error', (error) => {
      this.log('event bus connection lost', { error: String(error) });
      void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    await client.query(`LISTEN ${EPHEMERAL_CHANNEL}`);
    await client.query(`LISTEN ${CONTROL_CHANNEL}`);
    this.listenClient = client;
  }

  private async reconnect() {
    this.listenClient = null;
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        await this.connect();
        // Notifications sent while disconnected are lost: subscribers read what they missed from the log.
        for (const contextId of this.listeners.keys()) {
          this.cursors.delete(contextId);
          this.enqueue(contextId, async () => this.dispatch(contextId, { type: 'resync', contextId }));
        }
        for (const l of this.workListeners) l();
        return;
      } catch (error) {
        this.log('event bus reconnect failed', { error: String(error) });
      }
    }
  }

  async close() {
    this.closed = true;
    await this.listenClient?.end().catch(() => {});
    await Promise.allSettled([...this.chains.values()]);
  }

  subscribe(contextId: string, listener: (event: BusEvent) => void): () => void {
    let set = this.listeners.get(contextId);
    if (!set) this.listeners.set(contextId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.listeners.delete(contextId);
        this.cursors.delete(contextId);
      }
    };
  }

  onWorkAvailable(listener: () => void): () => void {
    this.workListeners.add(listener);
    return () => this.workListeners.delete(listener);
  }

  onCheckpointRequest(listener: (messageId: string) => void): () => void {
    this.checkpointListeners.add(listener);
    return () => this.checkpointListeners.delete(listener);
  }

  async requestCheckpoint(contextId: string, messageId: string): Promise<void> {
    const payload = JSON.stringify({ type: 'checkpoint', contextId, messageId });
    await this.prisma.$executeRaw`SELECT pg_notify(${CONTROL_CHANNEL}, ${payload})`;
  }

  async publishEphemeral(event: EphemeralEvent): Promise<void> {
    const pieces: EphemeralEvent[] = [];
    if (event.type === 'message.delta' && event.payload.text.length > MAX_DELTA_CHARS) {
      const { messageId, offset, text } = event.payload;
      for (let i = 0; i < text.length; i += MAX_DELTA_CHARS) {
        pieces.push({ ...event, payload: { messageId, offset: offset + i, text: text.slice(i, i + MAX_DELTA_CHARS) } });
      }
    } else {
      pieces.push(event);
    }
    for (const piece of pieces) {
      await this.prisma.$executeRaw`SELECT pg_notify(${EPHEMERAL_CHANNEL}, ${JSON.stringify(piece)})`;
    }
  }

  private onNotification(channel: string, payload: string) {
    try {
      if (channel === EVENTS_CHANNEL) {
        const n = JSON.parse(payload) as EventsNotification;
        if (n.w) for (const l of this.workListeners) l();
        if (this.listeners.has(n.c)) this.enqueue(n.c, () => this.deliverPersisted(n.c, n.f));
      } else if (channel === CONTROL_CHANNEL) {
        const request = JSON.parse(payload) as { type: string; messageId: string };
        if (request.type === 'checkpoint') for (const l of this.checkpointListeners) l(request.messageId);
      } else if (channel === EPHEMERAL_CHANNEL) {
        const event = JSON.parse(payload) as EphemeralEvent;
        if (this.listeners.has(event.contextId)) this.enqueue(event.contextId, async () => this.dispatch(event.contextId, event));
      }
    } catch (error) {
      this.log('bad notification', { channel, error: String(error) });
    }
  }

  private enqueue(contextId: string, task: () => Promise<void>) {
    const next = (this.chains.get(contextId) ?? Promise.resolve())
      .then(task)
      .catch((error) => this.log('event delivery failed', { contextId, error: String(error) }));
    this.chains.set(contextId, next);
    void next.finally(() => {
      if (this.chains.get(contextId) === next) this.chains.delete(contextId);
    });
  }

  /** Reads the notified events (and any this process has not delivered yet) for the context. */
  private async deliverPersisted(contextId: string, firstSeq: number) {
    const cursor = this.cursors.get(contextId);
    const after = cursor === undefined ? firstSeq - 1 : Math.min(cursor, firstSeq - 1);
    const rows = await this.prisma.event.findMany({
      where: { contextId, seq: { gt: after } },
      orderBy: { seq: 'asc' },
    });
    for (const row of rows) {
      const event: ContextEvent = toEvent(row);
      this.cursors.set(contextId, event.seq);
      this.dispatch(contextId, event);
    }
  }

  private dispatch(contextId: string, event: BusEvent) {
    for (const listener of [...(this.listeners.get(contextId) ?? [])]) {
      try {
        listener(event);
      } catch (error) {
        this.log('listener failed', { contextId, error: String(error) });
      }
    }
  }
}
