'use client';

import { useQueries } from '@tanstack/react-query';
import { useMemo } from 'react';
import { forkVariants, type Variants } from '@/lib/variants';
import { useTRPCClient } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

const PATH_PAGE = 200;

/**
 * The versions of each message where the transcript forks ("< 2/3 >"): the
 * other branches' paths (`context.messages` per branch, keyed by its head,
 * so a branch that grew is read again) beside the one shown.
 */
export function useForkVariants(detail: ContextDetail | undefined): ReadonlyMap<string, Variants> {
  const client = useTRPCClient();
  const contextId = detail?.context.id;
  const activeId = detail?.branch?.id;
  const others = useMemo(
    () => (detail && detail.branches.length > 1 ? detail.branches.filter((b) => b.id !== activeId && b.headMessageId) : []),
    [detail, activeId],
  );
  const loaded = useQueries({
    queries: others.map((b) => ({
      queryKey: ['branch-path', contextId, b.id, b.headMessageId],
      queryFn: () => client.context.messages.query({ contextId: contextId!, branchId: b.id, limit: PATH_PAGE }),
      staleTime: Infinity,
      enabled: contextId !== undefined,
    })),
    combine: (results) => results.map((r) => r.data),
  });
  return useMemo(() => {
    if (!detail || !activeId || others.length === 0) return new Map();
    const byBranch = new Map(others.flatMap((b, i) => (loaded[i] ? [[b.id, loaded[i].items] as const] : [])));
    return forkVariants(activeId, detail.messages, byBranch);
  }, [detail, activeId, others, loaded]);
}
