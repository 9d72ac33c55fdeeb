'use client';

import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { prependOlder } from '@/lib/context-cache';
import { useTRPCClient } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

const PAGE = 100;

/** Loads the page of messages before the oldest one shown (`context.messages` with the cursor). */
export function useLoadEarlier(contextId: string, queryKey: QueryKey) {
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const detail = queryClient.getQueryData<ContextDetail>(queryKey);
      if (!detail || detail.messagesCursor === null) return;
      const page = await client.context.messages.query({
        contextId,
        ...(detail.branch ? { branchId: detail.branch.id } : {}),
        cursor: detail.messagesCursor,
        limit: PAGE,
      });
      queryClient.setQueryData<ContextDetail>(queryKey, (old) =>
        old && old.branch?.id === detail.branch?.id ? prependOlder(old, page) : old,
      );
    },
  });
}
