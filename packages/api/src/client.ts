import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type Operation,
  type TRPCLink,
} from '@trpc/client';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import type { AppRouter } from './root.ts';

/** How the client retries a call the server could not take (SERVICE_BUSY) or that got no answer. */
export interface RetryOptions {
  /** Attempts in all, the first one included (default 12). */
  attempts?: number;
  /** Give up once this much time has passed since the first attempt (default 60 s). */
  budgetMs?: number;
  /** Longest single pause (default 5 s). */
  maxDelayMs?: number;
  /** Called before each retry (for logs and tests). */
  onRetry?: (info: { path: string; type: Operation['type']; attempt: number; delayMs: number; reason: RetryReason; error: TRPCClientError<AppRouter> }) => void;
}

export type RetryReason = 'service_busy' | 'network';

/**
 * The typed client for other TypeScript apps. In Node 20 pass an
 * EventSource implementation (the `eventsource` package) for subscriptions.
 *
 * Queries and mutations answered SERVICE_BUSY (HTTP 503) or that got no answer
 * at all are retried with backoff (see `retryLink`); `retry: false` turns it off.
 */
export function createChatClient(opts: {
  url: string;
  /** An API token (apiToken.create, or the web app's settings): sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** More headers for every request (a function is called per request, and may be async). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  EventSource?: typeof globalThis.EventSource;
  /** false: one HTTP request per call instead of batching calls made together. */
  batch?: boolean;
  /** Retries of SERVICE_BUSY and network failures (default on); false: none. */
  retry?: RetryOptions | false;
}) {
  const headers = async (): Promise<Record<string, string>> => ({
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...(typeof opts.headers === 'function' ? await opts.headers() : opts.headers),
  });
  const url = opts.url.replace(/\/$/, '').endsWith('/api/trpc') ? opts.url : `${opts.url.replace(/\/$/, '')}/api/trpc`;
  const links: TRPCLink<AppRouter>[] = [
    ...(opts.retry === false ? [] : [retryLink(opts.retry ?? {})]),
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url,
        transformer: superjson,
        ...(opts.EventSource ? { EventSource: opts.EventSource } : {}),
        eventSourceOptions: () =>
          ({
            fetch: async (input: RequestInfo | URL, init?: RequestInit) =>
              fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(await headers()) } }),
          }) as never,
      }),
      false:
        opts.batch === false
          ? httpLink({ url, transformer: superjson, headers })
          : httpBatchLink({ url, transformer: superjson, headers }),
    }),
  ];
  return createTRPCClient<AppRouter>({ links });
}

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
 * Retries queries always and mutations only when their input carries an
 * `idempotencyKey`, on the failures `retryReason` allows. The pause is the
 * server's `retryAfterMs` when given (plus up to 50% jitter, so clients told
 * the same thing do not come back together), else exponential from 200 ms
 * with full jitter; each pause is capped by `maxDelayMs`, and the whole by
 * `attempts` and `budgetMs`. Subscriptions are left to their own reconnect.
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
              const hint = retryAfterMsOf(error);
              const base = hint ?? 200 * 2 ** (attempt - 1);
              const delayMs = Math.round(Math.min(maxDelayMs, hint !== undefined ? base * (1 + Math.random() / 2) : base * Math.random()));
              if (
                stopped ||
                !reason ||
                attempt >= attempts ||
                op.signal?.aborted ||
                Date.now() - started + delayMs > budgetMs
              ) {
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

export type ChatClient = ReturnType<typeof createChatClient>;
export type { AppRouter };
