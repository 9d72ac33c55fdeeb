'use client';

import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { switchBranchLocally } from '@/lib/context-cache';
import { isRetriable, retryDelayMs } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { useTRPC } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

/**
 * `context.switchBranch`, one idempotency key per switch (reused by its network
 * retries). The transcript follows the `branch.switched` event and the refetch
 * it asks for; `target` is the branch being switched to until the server has answered.
 */
export function useSwitchBranch(contextId: string, queryKey: QueryKey, onSettled: () => void) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mutation = useMutation(
    trpc.context.switchBranch.mutationOptions({
      // Switches are applied in the order they were chosen.
      scope: { id: `switch-branch:${contextId}` },
      retry: (count, error) => count < 3 && isRetriable(error),
      retryDelay: retryDelayMs,
      // The answer says which branch is active now (its event may not be here yet).
      onSuccess: ({ context }) => {
        const branchId = context.activeBranchId;
        if (branchId) queryClient.setQueryData<ContextDetail>(queryKey, (d) => (d ? switchBranchLocally(d, branchId) : d));
      },
      onSettled,
    }),
  );
  return {
    switchTo: (branchId: string) => mutation.mutate({ contextId, branchId, idempotencyKey: newId() }),
    target: mutation.isPending ? mutation.variables?.branchId : undefined,
    error: mutation.error,
  };
}
