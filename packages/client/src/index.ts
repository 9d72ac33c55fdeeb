import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type Operation,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { EventSourceLike } from '@trpc/server/unstable-core-do-not-import';
import type { AppRouter, RouterInputs, RouterOutputs, StreamItem } from './router.ts';
import { wireTransformer } from './wire.ts';

export type { AppRouter, RouterInputs, RouterOutputs, StreamItem };
export { wireTransformer };

/** How the client retries a call the server could not take (SERVICE_BUSY) or that got no answer. */
export interface RetryOptions {
  /** Attempts in all, the first one included (default 12). */
  attempts?: number | undefined;
  /** Give up once this much time has passed since the first attempt (default 60 s). */
  budgetMs?: number | undefined;
  /** Longest single pause (default 5 s). */
  maxDelayMs?: number | undefined;
  /** Called before each retry (for logs and tests). */
  onRetry?: ((info: { path: string; type: Operation['type']; attempt: number; delayMs: number; reason: RetryReason; error: TRPCClientError<AppRouter> }) => void) | undefined;
}

export type RetryReason = 'service_busy' | 'network';

type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
/** The EventSource constructor: the global one (browsers, Deno, Bun) or the `eventsource` package's (Node). */
export type EventSourceConstructor = EventSourceLike.AnyConstructor;

export interface ChatClientOptions {
  /** The server's base URL (`http://localhost:3000`) or its tRPC endpoint (`.../api/trpc`). */
  url: string;
  /** An API token (apiToken.create, or the web app's settings): sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** More headers for every request (a function is called per request, and may be async). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>) | undefined;
  /** The fetch used for every request, the subscriptions' included (default: the global fetch). */
  fetch?: FetchLike | undefined;
  /** For subscriptions where there is no global EventSource (Node 20, 22 and 24: pass the `eventsource` package's). */
  EventSource?: EventSourceConstructor | undefined;
  /** false: one HTTP request per call instead of batching calls made together. */
  batch?: boolean | undefined;
  /** Retries of SERVICE_BUSY and network failures (default on); false: none. */
  retry?: RetryOptions | false | undefined;
}

/**
 * The typed client for other TypeScript apps: every procedure of the server
 * (`chat.context.create.mutate(...)`, `chat.events.onContext.subscribe(...)`),
 * plus the helpers `send`, `watch`, `approve` and `cancel`.
 *
 * Queries and mutations answered SERVICE_BUSY (HTTP 503) or that got no answer
 * at all are retried with backoff (see `retryLink`); `retry: false` turns it off.
 */
export function createChatClient(opts: ChatClientOptions): ChatClient {
  const fetchImpl: FetchLike = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const headers = async (): Promise<Record<string, string>> => ({
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...(typeof opts.headers === 'function' ? await opts.headers() : opts.headers),
  });
  const base = opts.url.replace(/\/+$/, '');
  const url = base.endsWith('/api/trpc') ? base : `${base}/api/trpc`;
  const EventSource = opts.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  const links: TRPCLink<AppRouter>[] = [
    ...(opts.retry === false ? [] : [retryLink(opts.retry ?? {})]),
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url,
        transformer: wireTransformer,
        ...(EventSource ? { EventSource } : {}),
        eventSourceOptions: () =>
          ({
            fetch: async (input: RequestInfo | URL, init?: RequestInit) =>
              fetchImpl(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(await headers()) } }),
          }) as never,
      }),
      false:
        opts.batch === false
          ? httpLink({ url, transformer: wireTransformer, headers, fetch: fetchImpl })
          : httpBatchLink({ url, transformer: wireTransformer, headers, fetch: fetchImpl }),
    }),
  ];
  const trpc = createTRPCClient<AppRouter>({ links });
  const helpers = createHelpers(trpc, { hasEventSource: Boolean(EventSource), linkRetries: opts.retry !== false });
  // The tRPC client is a proxy where every name is a procedure path: the helpers come first.
  return new Proxy(trpc as ChatClient, {
    get: (target, key, receiver) => (typeof key === 'string' && key in helpers ? helpers[key as keyof ChatHelpers] : Reflect.get(target, key, receiver)),
  });
}

export type ChatClient = TRPCClient<AppRouter> & ChatHelpers;

// ---------------------------------------------------------------------------
// Errors

/** The server's stable error codes (`data.appCode`); others may be added, so match known ones and treat the rest generically. */
export type KnownAppCode =
  | 'INVALID_INPUT'
  | 'UNAUTHENTICATED'
  | 'INVALID_TOKEN'
  | 'CROSS_SITE_REQUEST'
  | 'CONTEXT_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'TOOL_CALL_NOT_FOUND'
  | 'CONTEXT_BUSY'
  | 'STALE_VERSION'
  | 'TOOL_CALL_ALREADY_DECIDED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_IN_PROGRESS'
  | 'MESSAGE_TOO_LONG'
  | 'RATE_LIMITED'
  | 'SERVICE_BUSY'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE';
export type AppCode = KnownAppCode | (string & {});

/**
 * A failed call, typed: `code` is the tRPC code (`NOT_FOUND`, `CONFLICT`, ...),
 * `appCode` the server's stable code (`CONTEXT_NOT_FOUND`, `STALE_VERSION`, ...),
 * `NETWORK` when no answer came at all.
 */
export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly code: string;
  readonly appCode: AppCode | 'NETWORK';
  /** The HTTP status of the answer (undefined when none came). */
  readonly httpStatus: number | undefined;
  /** The server's hint before retrying (SERVICE_BUSY, RATE_LIMITED). */
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** For INVALID_INPUT: zod's flattened issues. */
  readonly zodError: { formErrors: string[]; fieldErrors: Record<string, string[] | undefined> } | undefined;

  constructor(message: string, init: { code: string; appCode: AppCode | 'NETWORK'; httpStatus?: number; details?: Record<string, unknown>; zodError?: ChatError['zodError']; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.code = init.code;
    this.appCode = init.appCode;
    this.httpStatus = init.httpStatus;
    this.details = init.details;
    this.zodError = init.zodError;
    const ms = init.details?.retryAfterMs;
    this.retryAfterMs = typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }

  /** Any error from the client (a TRPCClientError, a fetch failure) as a ChatError. */
  static from(error: unknown): ChatError {
    if (error instanceof ChatError) return error;
    if (error instanceof TRPCClientError) {
      const data = error.data as { code?: string; appCode?: string; httpStatus?: number; details?: Record<string, unknown>; zodError?: ChatError['zodError'] } | undefined | null;
      const status = data?.httpStatus ?? (error.meta as { response?: { status?: number } } | undefined)?.response?.status;
      if (data?.code) {
        return new ChatError(error.message, {
          code: data.code,
          appCode: data.appCode ?? data.code,
          ...(status !== undefined ? { httpStatus: status } : {}),
          ...(data.details ? { details: data.details } : {}),
          ...(data.zodError ? { zodError: data.zodError } : {}),
          cause: error,
        });
      }
      return new ChatError(error.message, { code: status ? `HTTP_${status}` : 'NETWORK', appCode: 'NETWORK', ...(status !== undefined ? { httpStatus: status } : {}), cause: error });
    }
    return new ChatError(error instanceof Error ? error.message : String(error), { code: 'NETWORK', appCode: 'NETWORK', cause: error });
  }
}

export const isChatError = (error: unknown, appCode?: AppCode | 'NETWORK'): error is ChatError =>
  error instanceof ChatError && (appCode === undefined || error.appCode === appCode);

// ---------------------------------------------------------------------------
// Retries

/**
 * Why a failed call may be sent again, or null if it must not be.
 *
 * - SERVICE_BUSY: the server took nothing (it answers so before it writes).
 * - network: no answer at all (fetch rejected, or a proxy's 502/503/504 page
 *   that is not a tRPC answer). The request may or may not have been applied,
 *   so this is safe only for reads and for mutations that carry an
 *   idempotency key (the server then replays the first result instead of
 *   storing twice).
 * - IDEMPOTENCY_KEY_IN_PROGRESS, only after we retried ourselves: the
 *   "in progress" request is our own earlier attempt whose answer was lost;
 *   retrying with the same key returns its stored result once it finishes.
 *
 * Every other error (validation, NOT_FOUND, CONFLICT, 500, ...) is final.
 */
export function retryReason(error: unknown, attempt = 1): RetryReason | null {
  if (!(error instanceof TRPCClientError)) return null;
  const data = error.data as { appCode?: string; httpStatus?: number } | undefined;
  if (data?.appCode === 'SERVICE_BUSY') return 'service_busy';
  if (data?.appCode === 'IDEMPOTENCY_KEY_IN_PROGRESS' && attempt > 1) return 'service_busy';
  if (data) return null;
  const cause = error.cause as { name?: string } | undefined;
  if (cause?.name === 'AbortError') return null;
  if (cause instanceof TypeError) return 'network';
  const status = (error.meta as { response?: { status?: number } } | undefined)?.response?.status;
  if (status === 502 || status === 503 || status === 504) return 'network';
  return null;
}

/** The server's hint (`data.details.retryAfterMs`), if it gave one. */
function retryAfterMsOf(error: unknown): number | undefined {
  const ms = (error as { data?: { details?: { retryAfterMs?: unknown } } } | null)?.data?.details?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** A mutation may be repeated only if its input names it (an idempotency key). */
function hasIdempotencyKey(input: unknown): boolean {
  const key = (input as { idempotencyKey?: unknown } | null | undefined)?.idempotencyKey;
  return typeof key === 'string' && key.length > 0;
}

/**
 * The pause before retry number `attempt` (1 = the first retry): the server's
 * `retryAfterMs` when it gave one, plus up to 50% (clients told the same thing
 * do not come back together), else exponential from 200 ms with jitter; at
 * most `maxDelayMs`. The one backoff of this client: its link, its keyed
 * actions and its subscriptions' reconnects.
 */
export function retryDelayMs(attempt: number, hintMs?: number, maxDelayMs = 5_000): number {
  const delay = hintMs !== undefined ? hintMs * (1 + Math.random() / 2) : 200 * 2 ** Math.min(Math.max(0, attempt - 1), 10) * (0.5 + Math.random() / 2);
  return Math.round(Math.min(maxDelayMs, delay));
}

/**
 * Retries queries always and mutations only when their input carries an
 * `idempotencyKey`, on the failures `retryReason` allows. Each pause is
 * `retryDelayMs` (capped by `maxDelayMs`), the whole by `attempts` and
 * `budgetMs`. Subscriptions are left to their own reconnect.
 */
export function retryLink(options: RetryOptions = {}): TRPCLink<AppRouter> {
  const attempts = Math.max(1, options.attempts ?? 12);
  const budgetMs = options.budgetMs ?? 60_000;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  return () =>
    ({ op, next }) => {
      if (op.type === 'subscription' || (op.type === 'mutation' && !hasIdempotencyKey(op.input))) return next(op);
      return observable((observer) => {
        const started = Date.now();
        let attempt = 0;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let current: { unsubscribe(): void } | undefined;
        let stopped = false;
        const tryOnce = () => {
          attempt++;
          current = next(op).subscribe({
            next: (value) => observer.next(value),
            complete: () => observer.complete(),
            error: (error) => {
              const reason = retryReason(error, attempt);
              const delayMs = retryDelayMs(attempt, retryAfterMsOf(error), maxDelayMs);
              if (stopped || !reason || attempt >= attempts || op.signal?.aborted || Date.now() - started + delayMs > budgetMs) {
                observer.error(error);
                return;
              }
              options.onRetry?.({ path: op.path, type: op.type, attempt, delayMs, reason, error });
              timer = setTimeout(tryOnce, delayMs);
            },
          });
        };
        tryOnce();
        return () => {
          stopped = true;
          if (timer) clearTimeout(timer);
          current?.unsubscribe();
        };
      });
    };
}

// ---------------------------------------------------------------------------
// Helpers

/** A new random id (crypto.randomUUID where the platform has it). */
export function newId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface ActionOptions {
  /** The action's idempotency key (default: a new one, reused by every retry of this call). */
  idempotencyKey?: string | undefined;
  /** Attempts in all for failures the server may have applied (network, 5xx); default 6. */
  attempts?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called before each retry of this action. */
  onRetry?: ((info: { attempt: number; delayMs: number; error: ChatError }) => void) | undefined;
}

export interface SendOptions extends ActionOptions {
  /** The id of your optimistic copy (default: a new one); the server never stores one twice per chat. */
  clientMessageId?: string | undefined;
  /** Edit this earlier user message instead (forks a branch). */
  editOfMessageId?: string | undefined;
}

export type SendResult = RouterOutputs['chat']['sendMessage'] & { clientMessageId: string; idempotencyKey: string };
export type ToolDecision = RouterInputs['chat']['approveTools']['decisions'][number];
export type ChatEvent = Extract<StreamItem, { kind: 'event' }>;
export type MessageStatus = Extract<StreamItem, { type: 'message.snapshot' }>['payload']['status'];

/** A reply as the watcher has assembled it so far. */
export interface Reply {
  messageId: string;
  runId: string | null;
  /** The reply's text: snapshot, checkpoints and deltas applied at their offsets, each character once. */
  text: string;
  status: MessageStatus;
  /** Completed, cancelled, interrupted or failed: no more text will come. */
  done: boolean;
}

/** One item of `watch`: what the server sent, with the reply it changed. */
export interface WatchItem {
  /** The stream item as the server sent it (`kind: 'event'` persisted with a seq, or `kind: 'ephemeral'`). */
  item: StreamItem;
  /** The seq of this persisted event, null for ephemeral items. */
  seq: number | null;
  /** The last persisted seq received: pass it as `lastEventId` to resume after this item. */
  lastSeq: number;
  /** The reply this item changed, if any. */
  reply: Reply | null;
  /** The text this item added at the end of `reply.text` ('' if none): print it as it streams. */
  appended: string;
  /** Every reply seen so far (pass them as `replies` when you resume, so nothing is repeated). */
  replies: Reply[];
}

export interface WatchOptions {
  /** The seq of the last event you have (a `WatchItem.lastSeq`); absent: a `context.snapshot` first, then live. */
  lastEventId?: string | number | null | undefined;
  /** Replies you already have (a previous watch's `replies`): their text is not sent to you again. */
  replies?: Array<Pick<Reply, 'messageId' | 'text'> & Partial<Reply>> | undefined;
  signal?: AbortSignal | undefined;
  /** Reconnect (from the last seq) after a failure the server may recover from (network, SERVICE_BUSY, 5xx); default true. */
  reconnect?: boolean | undefined;
  /** Called when the stream is (re)connecting or connected. */
  onConnectionState?: ((state: 'connecting' | 'live' | 'reconnecting', error?: ChatError) => void) | undefined;
}

export interface ChatHelpers {
  /** Sends `text` as a user message: makes the clientMessageId and idempotencyKey and retries failures with them, so it is stored once. */
  send(contextId: string, text: string, opts?: SendOptions): Promise<SendResult>;
  /** Live items of a chat, with each reply's text assembled; resumes after a dropped connection from the last seq. */
  watch(contextId: string, opts?: WatchOptions): AsyncIterableIterator<WatchItem>;
  /** Decides pending tool calls of a run (all or some). */
  approve(
    contextId: string,
    runId: string,
    decisions: ToolDecision | ToolDecision[],
    opts?: ActionOptions & { expectedVersion?: number },
  ): Promise<RouterOutputs['chat']['approveTools']>;
  /** Stops the active run (its partial reply kept, marked cancelled), or the named one. */
  cancel(contextId: string, runId?: string, opts?: ActionOptions): Promise<RouterOutputs['chat']['cancel']>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * A keyed action, retried on the failures the server may or may not have
 * applied: no answer, any 5xx (SERVICE_BUSY included when the client's own
 * retries are off or spent), and IDEMPOTENCY_KEY_IN_PROGRESS after our own
 * first attempt. Every attempt carries the same key, so the server replays the
 * first result instead of acting twice.
 */
async function keyed<T>(opts: ActionOptions, linkRetries: boolean, call: () => Promise<T>): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 6);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (raw) {
      const error = ChatError.from(raw);
      const transient =
        error.appCode === 'NETWORK'
          ? !linkRetries || (error.httpStatus !== undefined && error.httpStatus >= 500 && ![502, 503, 504].includes(error.httpStatus))
          : error.appCode === 'SERVICE_BUSY'
            ? !linkRetries
            : error.appCode === 'IDEMPOTENCY_KEY_IN_PROGRESS'
              ? attempt > 1
              : (error.httpStatus ?? 0) >= 500;
      if (!transient || attempt >= attempts || opts.signal?.aborted) throw error;
      const delayMs = retryDelayMs(attempt, error.retryAfterMs);
      opts.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, opts.signal);
    }
  }
}

/** Applies `text` at `offset` to a reply: only what extends it is taken (never a character twice); a gap is left to later items. */
function extend(reply: Reply, offset: number, text: string): string {
  if (offset > reply.text.length || offset + text.length <= reply.text.length) return '';
  const added = text.slice(reply.text.length - offset);
  reply.text += added;
  return added;
}

const textOfParts = (parts: ReadonlyArray<{ type: string; text?: string }>) => parts.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');

function createHelpers(trpc: TRPCClient<AppRouter>, env: { hasEventSource: boolean; linkRetries: boolean }): ChatHelpers {
  return {
    async send(contextId, text, opts = {}) {
      const clientMessageId = opts.clientMessageId ?? newId();
      const idempotencyKey = opts.idempotencyKey ?? newId();
      const result = await keyed(opts, env.linkRetries, () =>
        trpc.chat.sendMessage.mutate(
          { contextId, content: text, clientMessageId, idempotencyKey, ...(opts.editOfMessageId ? { editOfMessageId: opts.editOfMessageId } : {}) },
          opts.signal ? { signal: opts.signal } : undefined,
        ),
      );
      return { ...result, clientMessageId, idempotencyKey };
    },

    async approve(contextId, runId, decisions, opts = {}) {
      const idempotencyKey = opts.idempotencyKey ?? newId();
      const list = Array.isArray(decisions) ? decisions : [decisions];
      return keyed(opts, env.linkRetries, () =>
        trpc.chat.approveTools.mutate(
          { contextId, runId, decisions: list, idempotencyKey, ...(opts.expectedVersion !== undefined ? { expectedVersion: opts.expectedVersion } : {}) },
          opts.signal ? { signal: opts.signal } : undefined,
        ),
      );
    },

    async cancel(contextId, runId, opts = {}) {
      const idempotencyKey = opts.idempotencyKey ?? newId();
      return keyed(opts, env.linkRetries, () =>
        trpc.chat.cancel.mutate({ contextId, idempotencyKey, ...(runId ? { runId } : {}) }, opts.signal ? { signal: opts.signal } : undefined),
      );
    },

    watch(contextId, opts = {}) {
      if (!env.hasEventSource) {
        throw new ChatError('watch needs an EventSource: pass `EventSource` (the `eventsource` package on Node) to createChatClient', {
          code: 'NO_EVENTSOURCE',
          appCode: 'NETWORK',
        });
      }
      return watchContext(trpc, contextId, opts);
    },
  };
}

/** The subscription as an async iterator of WatchItems (see ChatHelpers.watch). */
function watchContext(trpc: TRPCClient<AppRouter>, contextId: string, opts: WatchOptions): AsyncIterableIterator<WatchItem> {
  const replies = new Map<string, Reply>();
  for (const r of opts.replies ?? []) {
    replies.set(r.messageId, { runId: null, status: 'streaming', done: false, ...r, text: r.text });
  }
  let lastSeq = opts.lastEventId === undefined || opts.lastEventId === null ? null : Number(opts.lastEventId);
  const queue: WatchItem[] = [];
  let failure: ChatError | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  let subscription: { unsubscribe(): void } | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const replyFor = (messageId: string): Reply => {
    let reply = replies.get(messageId);
    if (!reply) {
      reply = { messageId, runId: null, text: '', status: 'streaming', done: false };
      replies.set(messageId, reply);
    }
    return reply;
  };

  const apply = (item: StreamItem): WatchItem => {
    let reply: Reply | null = null;
    let appended = '';
    let seq: number | null = null;
    if (item.kind === 'event') {
      seq = item.seq;
      lastSeq = Math.max(lastSeq ?? 0, item.seq);
      switch (item.type) {
        case 'message.created': {
          const m = item.payload.message;
          if (m.role === 'assistant') {
            reply = replies.get(m.id) ?? null;
            if (!reply) {
              reply = replyFor(m.id);
              appended = extend(reply, 0, textOfParts(m.parts));
            }
            reply.runId = m.runId;
            reply.status = m.status;
            reply.done = m.status !== 'streaming' && m.status !== 'queued';
          }
          break;
        }
        case 'message.checkpointed': {
          reply = replyFor(item.payload.messageId);
          appended = extend(reply, item.payload.offset, item.payload.text);
          break;
        }
        case 'message.restarted': {
          // A retried run answers again in the same message: its text starts over.
          reply = replyFor(item.payload.messageId);
          reply.text = '';
          reply.status = 'streaming';
          reply.done = false;
          break;
        }
        case 'message.completed': {
          reply = replies.get(item.payload.messageId) ?? null;
          if (reply) {
            const full = textOfParts(item.payload.parts);
            appended = full.startsWith(reply.text) ? full.slice(reply.text.length) : '';
            reply.text = full;
            reply.status = 'complete';
            reply.done = true;
          }
          break;
        }
        case 'message.interrupted': {
          reply = replies.get(item.payload.messageId) ?? null;
          if (reply) {
            reply.status = item.payload.status;
            reply.done = true;
          }
          break;
        }
        default:
          break;
      }
    } else if (item.type === 'message.snapshot') {
      reply = replyFor(item.payload.messageId);
      appended = extend(reply, 0, item.payload.text);
      reply.status = item.payload.status;
      reply.done = item.payload.status !== 'streaming' && item.payload.status !== 'queued';
      lastSeq = Math.max(lastSeq ?? 0, item.afterSeq);
    } else if (item.type === 'message.delta') {
      reply = replyFor(item.payload.messageId);
      appended = extend(reply, item.payload.offset, item.payload.text);
      lastSeq = Math.max(lastSeq ?? 0, item.afterSeq);
    } else {
      lastSeq = Math.max(lastSeq ?? 0, item.afterSeq);
    }
    return { item, seq, lastSeq: lastSeq ?? 0, reply: reply ? { ...reply } : null, appended, replies: [...replies.values()].map((r) => ({ ...r })) };
  };

  const connect = (state: 'connecting' | 'reconnecting', error?: ChatError) => {
    opts.onConnectionState?.(state, error);
    subscription = trpc.events.onContext.subscribe(
      { contextId, ...(lastSeq !== null ? { lastEventId: String(lastSeq) } : {}) },
      {
        onStarted: () => {
          failures = 0;
          opts.onConnectionState?.('live');
        },
        onData: ({ data }) => {
          queue.push(apply(data));
          notify();
        },
        onError: (raw) => {
          const error = ChatError.from(raw);
          subscription?.unsubscribe();
          subscription = null;
          const transient = error.appCode === 'NETWORK' || error.appCode === 'SERVICE_BUSY' || (error.httpStatus ?? 0) >= 500;
          if (opts.reconnect !== false && transient && !ended) {
            failures++;
            const delayMs = retryDelayMs(failures, error.retryAfterMs);
            reconnectTimer = setTimeout(() => connect('reconnecting', error), delayMs);
            return;
          }
          failure = error;
          notify();
        },
        onComplete: () => {
          ended = true;
          notify();
        },
      },
    );
  };

  const close = () => {
    ended = true;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    subscription?.unsubscribe();
    subscription = null;
    notify();
  };
  opts.signal?.addEventListener('abort', close, { once: true });
  if (!opts.signal?.aborted) connect('connecting');
  else ended = true;

  const iterator: AsyncIterableIterator<WatchItem> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next() {
      for (;;) {
        if (queue.length) return { value: queue.shift()!, done: false };
        if (failure) {
          const error = failure;
          failure = null;
          close();
          throw error;
        }
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      close();
      queue.length = 0;
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
