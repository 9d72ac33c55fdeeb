'use client';

import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { errorInfo, isNetworkError } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { useTRPC, useTRPCClient } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

export interface Decision {
  toolCallId: string;
  approve: boolean;
  reason?: string;
}

interface ApproveRequest {
  runId: string;
  decisions: Decision[];
  expectedVersion: number;
  /** Made once per click; reused when the request is retried after a network failure. */
  idempotencyKey: string;
}

/**
 * `chat.approveTools` guarded by the context version the user looked at.
 * If the version moved on only because of other events (e.g. another card was
 * decided a moment ago) and the calls are still pending, it asks again with
 * the fresh version (a new request, so a new idempotency key).
 */
export function useApproveTools(contextId: string, queryKey: QueryKey, onSettled: () => void) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();

  return useMutation({
    mutationKey: trpc.chat.approveTools.mutationKey(),
    scope: { id: `approve-tools:${contextId}` },
    retry: (count, error) => count < 3 && isNetworkError(error),
    mutationFn: async (request: ApproveRequest) => {
      try {
        return await client.chat.approveTools.mutate({ contextId, ...request });
      } catch (error) {
        if (errorInfo(error).appCode !== 'STALE_VERSION') throw error;
        await queryClient.invalidateQueries({ queryKey, exact: true });
        const fresh = queryClient.getQueryData<ContextDetail>(queryKey);
        const pending = new Set(fresh?.state.pendingToolCalls.map((p) => p.id));
        const stillSame =
          fresh?.state.state.type === 'AwaitingToolApproval' &&
          fresh.state.state.runId === request.runId &&
          request.decisions.every((d) => pending.has(d.toolCallId));
        if (!fresh || !stillSame) throw error;
        return client.chat.approveTools.mutate({
          contextId,
          ...request,
          expectedVersion: fresh.state.version,
          idempotencyKey: newId(),
        });
      }
    },
    onSettled,
  });
}
