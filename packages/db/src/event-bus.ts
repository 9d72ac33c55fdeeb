import type { BusEvent, EphemeralEvent, EventBus } from '@chat/core';
import pg from 'pg';
import { readEvents } from './event-log.ts';
import { EPHEMERAL_CHANNEL, EVENTS_CHANNEL, MAX_NOTIFY_BYTES as MAX_PAYLOAD_BYTES, type EventsNotification } from './notifications.ts';

/** Events read per query when delivering a notification. */
const DELIVERY_PAGE = 500;

/**
 * Event fan-out over Postgres LISTEN/NOTIFY (DESIGN §8), so every server
 * process sees every change. Exactly one listening connection per process:
 * when it drops, one reconnect loop (with backoff) replaces it. A
 * persisted-event notification carries only ids: the receiver reads the rows.
 * Everything for one context is handled in arrival order through one promise
 * chain, so an ephemeral delta never overtakes the events before it.
 */
export class PostgresEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<(event: BusEvent) => void>>();
  private readonly workListeners = new Set<(contextId: string | null) => void>();
  private readonly cursors = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  /** The one LISTEN connection (null while it is being re-established). */
  private listenClient: pg.Client | null = null;
  /** A connection being opened (ended by close()). */
  private connecting: pg.Client | null = null;
  /** Set while the one reconnect loop runs: a second loss never starts a second loop. */
  private reconnecting = false;
  private wakeReconnect: (() => void) | null = null;
  private closed = false;

  constructor(
    /** NOTIFYs and event reads go straight through the pool: they are per token batch and per notification. */
    private readonly pool: pg.Pool,
    private readonly databaseUrl: string,
    /** `info` for the connection's own ups and downs (self-healing), else a warning. */
    private readonly log: (msg: string, data?: Record<string, unknown>, level?: 'warn' | 'info') => void = () => {},
    private readonly options: {
      /** For each persisted-events notification that carries its send time: now minus that time. */
      onNotifyLag?: (ms: number) => void;
      /** application_name of the LISTEN connection (pg_stat_activity). */
      applicationName?: string;
    } = {},
  ) {}

  async start() {
    this.listenClient = await this.connect();
  }

  /** Opens a LISTEN connection. Its loss (error or end) starts the reconnect loop, only while it is the current one. */
  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: this.options.applicationName ?? 'chat-listen',
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (this.listenClient !== client) return; // a failed connect: its caller handles that
      this.listenClient = null;
      this.log('event bus connection lost; reconnecting', { error: String(error ?? 'connection ended') }, 'info');
      void client.end().catch(() => {});
      this.reconnect();
    };
    client.on('notification', (msg) => this.onNotification(msg.channel, msg.payload ?? ''));
    client.on('error', onLost); // stays attached: pg may emit more than one error, and an unhandled one would crash
    client.on('end', () => onLost());
    this.connecting = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${EPHEMERAL_CHANNEL}`);
      if (this.closed) throw new Error('event bus closed');
      return client;
    } catch (error) {
      lost = true;
      await client.end().catch(() => {});
      throw error;
    } finally {
      if (this.connecting === client) this.connecting = null;
    }
  }

  /** The one reconnect loop, with backoff; after it, subscribers resync from the log and workers look for work. */
  private reconnect() {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    void (async () => {
      let delay = 250;
      let failures = 0;
      try {
        while (!this.closed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeReconnect = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wakeReconnect = null;
          if (this.closed) return;
          try {
            this.listenClient = await this.connect();
          } catch (error) {
            if (failures++ === 0) this.log('event bus reconnect failed; retrying', { error: String(error) }, 'info');
            delay = Math.min(delay * 2, 2000);
            continue;
          }
          this.log('event bus reconnected', { failedAttempts: failures }, 'info');
          // Notifications sent while disconnected are lost: subscribers read what they missed from the log.
          for (const contextId of this.listeners.keys()) {
            this.cursors.delete(contextId);
            this.enqueue(contextId, async () => this.dispatch(contextId, { type: 'resync', contextId }));
          }
          this.notifyWork(null);
          return;
        }
      } finally {
        this.reconnecting = false;
      }
    })();
  }

  /** Whether the LISTEN connection is up. */
  get connected(): boolean {
    return this.listenClient !== null;
  }

  async close() {
    this.closed = true;
    this.wakeReconnect?.();
    const clients = [this.listenClient, this.connecting].filter((c): c is pg.Client => c !== null);
    this.listenClient = null;
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await Promise.allSettled([...this.chains.values()]);
  }

  private notifyWork(contextId: string | null) {
    for (const l of [...this.workListeners]) {
      try {
        l(contextId);
      } catch (error) {
        this.log('work listener failed', { error: String(error) });
      }
    }
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

  /** The listener gets the context id of the notification, or null after a reconnect (any context may have work). */
  onWorkAvailable(listener: (contextId: string | null) => void): () => void {
    this.workListeners.add(listener);
    return () => this.workListeners.delete(listener);
  }

  async publishEphemeral(event: EphemeralEvent): Promise<void> {
    const pieces: string[] = [];
    const whole = JSON.stringify(event);
    if (event.type === 'message.delta' && Buffer.byteLength(whole) > MAX_PAYLOAD_BYTES) {
      const { messageId, offset, text } = event.payload;
      for (let i = 0; i < text.length; ) {
        // As much text as fits once serialised (escapes and multi-byte characters vary the size).
        let n = Math.min(text.length - i, 6000);
        let piece = '';
        for (;;) {
          piece = JSON.stringify({ ...event, payload: { messageId, offset: offset + i, text: text.slice(i, i + n) } });
          if (Buffer.byteLength(piece) <= MAX_PAYLOAD_BYTES || n <= 1) break;
          n = Math.max(1, Math.floor(n * 0.7));
        }
        pieces.push(piece);
        i += n;
      }
    } else {
      pieces.push(whole);
    }
    for (const piece of pieces) {
      await this.pool.query('SELECT pg_notify($1, $2)', [EPHEMERAL_CHANNEL, piece]);
    }
  }

  private onNotification(channel: string, payload: string) {
    try {
      if (channel === EVENTS_CHANNEL) {
        const n = JSON.parse(payload) as EventsNotification;
        if (typeof n.t === 'number') this.options.onNotifyLag?.(Math.max(0, Date.now() - n.t));
        if (n.w) this.notifyWork(n.c);
        if (this.listeners.has(n.c)) this.enqueue(n.c, () => this.deliverPersisted(n));
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

  /** Delivers the notified events (and any this process has not delivered yet) for the context. */
  private async deliverPersisted(n: EventsNotification) {
    const contextId = n.c;
    const cursor = this.cursors.get(contextId);
    if (cursor !== undefined && cursor >= n.s) return; // delivered already (read with an earlier gap)
    if (n.e && (cursor === undefined || cursor === n.f - 1)) {
      for (const e of n.e) {
        this.cursors.set(contextId, e.seq);
        this.dispatch(contextId, { contextId, seq: e.seq, type: e.type, payload: e.payload, createdAt: new Date(e.createdAt) } as BusEvent);
      }
      return;
    }
    const firstSeq = n.f;
    const after = cursor === undefined ? firstSeq - 1 : Math.min(cursor, firstSeq - 1);
    for (let from = after; ; ) {
      const events = await readEvents(this.pool, contextId, from, DELIVERY_PAGE);
      for (const event of events) {
        this.cursors.set(contextId, event.seq);
        this.dispatch(contextId, event);
      }
      if (events.length < DELIVERY_PAGE) return;
      from = events.at(-1)!.seq;
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
