'use client';

import { skipToken, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { appliedSeq, applyStreamItem, reconcileFetched, type PersistedItem } from '@/lib/context-cache';
import { errorInfo } from '@/lib/errors';
import { useTRPC } from '@/lib/trpc';
import type { ContextDetail, StreamItem } from '@/lib/types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

const REFETCH_DEBOUNCE_MS = 150;
const RESUBSCRIBE_AFTER_ERROR_MS = 2_000;
const RECENT_EVENTS_KEPT = 300;

/**
 * The open chat, kept live: `context.get` in the React Query cache, plus the
 * `events.onContext` subscription whose items are applied to that cache
 * (see lib/context-cache.ts). Returns the query, the connection state and a
 * debounced `refresh` for callers that changed something on the server.
 */
export function useLiveContext(contextId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const baseOptions = trpc.context.get.queryOptions({ contextId });
  const baseQueryFn = baseOptions.queryFn;
  // Stable per chat (the options object is rebuilt on every render).
  const queryKey = useMemo(() => trpc.context.get.queryKey({ contextId }), [trpc, contextId]);

  /** Persisted events applied lately: re-applied over a fetch that started before them. */
  const recent = useRef<PersistedItem[]>([]);
  /** Events arrived whose derived data (version, runs, queue) the cache may not have yet. */
  const behind = useRef(false);

  const query = useQuery({
    ...baseOptions,
    queryFn: async (ctx) => {
      if (!baseQueryFn) throw new Error('context.get has no query function');
      behind.current = false;
      try {
        const fresh = await baseQueryFn(ctx);
        return reconcileFetched(fresh, queryClient.getQueryData(queryKey), recent.current);
      } catch (error) {
        behind.current = true;
        throw error;
      }
    },
  });

  // ---- debounced refetches -----------------------------------------------------
  const timers = useRef<{ detail?: ReturnType<typeof setTimeout>; list?: ReturnType<typeof setTimeout> }>({});
  const refresh = useCallback(() => {
    clearTimeout(timers.current.detail);
    timers.current.detail = setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey, exact: true });
    }, REFETCH_DEBOUNCE_MS);
  }, [queryClient, queryKey]);
  const refreshList = useCallback(() => {
    clearTimeout(timers.current.list);
    timers.current.list = setTimeout(() => {
      void queryClient.invalidateQueries(trpc.context.list.pathFilter());
    }, REFETCH_DEBOUNCE_MS * 2);
  }, [queryClient, trpc]);
  useEffect(() => {
    const t = timers.current;
    return () => {
      clearTimeout(t.detail);
      clearTimeout(t.list);
    };
  }, []);

  // ---- applying stream items ---------------------------------------------------------
  const apply = useCallback(
    (item: StreamItem) => {
      if (item.kind === 'event') {
        recent.current.push(item);
        if (recent.current.length > RECENT_EVENTS_KEPT) recent.current.splice(0, recent.current.length - RECENT_EVENTS_KEPT);
      }
      const current = queryClient.getQueryData<ContextDetail>(queryKey);
      if (!current) {
        refresh();
        return;
      }
      const { detail, refetch, listChanged } = applyStreamItem(current, item);
      if (detail !== current) queryClient.setQueryData<ContextDetail>(queryKey, detail);
      if (refetch) {
        behind.current = true;
        refresh();
      }
      if (listChanged) refreshList();
    },
    [queryClient, queryKey, refresh, refreshList],
  );

  // ---- the subscription --------------------------------------------------------------
  // Resume point: fixed when the first snapshot is loaded (changing the input
  // would resubscribe). The link itself resumes from the last tracked id when
  // the EventSource reconnects.
  const [startSeq, setStartSeq] = useState<number | null>(null);
  useEffect(() => {
    if (startSeq === null && query.data) setStartSeq(appliedSeq(query.data));
  }, [startSeq, query.data]);

  const everLive = useRef(false);
  const subscription = useSubscription(
    trpc.events.onContext.subscriptionOptions(
      startSeq === null ? skipToken : { contextId, lastEventId: String(startSeq) },
      {
        enabled: startSeq !== null,
        onStarted: () => {
          // After a reconnect, derived data (runs, queue) may have moved on.
          if (everLive.current) refresh();
          everLive.current = true;
        },
        onData: (envelope) => apply(envelope.data),
      },
    ),
  );

  // A fatal subscription error (the stream ended with an error): start again
  // from what the cache holds; replays are ignored by seq.
  const { status, reset, error } = subscription;
  const contextGone = errorInfo(error).appCode === 'CONTEXT_NOT_FOUND';
  useEffect(() => {
    if (status !== 'error' || contextGone) return;
    const timer = setTimeout(() => {
      const current = queryClient.getQueryData<ContextDetail>(queryKey);
      const seq = current ? appliedSeq(current) : startSeq;
      if (seq !== null && seq !== startSeq) setStartSeq(seq);
      else reset();
      refresh();
    }, RESUBSCRIBE_AFTER_ERROR_MS);
    return () => clearTimeout(timer);
  }, [status, contextGone, startSeq, reset, refresh, queryClient, queryKey]);

  // A refetch that failed while we have data: try again a little later.
  const refetchFailed = query.isError && query.data !== undefined;
  useEffect(() => {
    if (!refetchFailed) return;
    const timer = setTimeout(refresh, 3_000);
    return () => clearTimeout(timer);
  }, [refetchFailed, refresh]);

  /** The server's current view, refetched first if events arrived since the last fetch. */
  const ensureFresh = useCallback(async (): Promise<ContextDetail | undefined> => {
    if (behind.current || queryClient.isFetching({ queryKey, exact: true }) > 0) {
      await queryClient.refetchQueries({ queryKey, exact: true }, { cancelRefetch: false });
    }
    return queryClient.getQueryData<ContextDetail>(queryKey);
  }, [queryClient, queryKey]);

  const connection: ConnectionState = useMemo(() => {
    if (status === 'pending') return 'live';
    if (status === 'error') return 'offline';
    if (status === 'connecting' && everLive.current) return 'reconnecting';
    return 'connecting';
  }, [status]);

  return { query, queryKey, connection, refresh, ensureFresh };
}
