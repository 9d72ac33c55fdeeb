'use client';

import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { errorInfo, isRetriable, retryDelayMs } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { useTRPC, useTRPCClient } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

export interface Decision {
  toolCallId: string;
  approve: boolean;
  reason?: string;
}

export interface ApproveRequest {
  runId: string;
  decisions: Decision[];
}

/**
 * `chat.approveTools`, guarded by `expectedVersion` and each call's `argsHash`.
 *
 * Events move the state on before the cache learns the new version (events do
 * not carry it), so the request is built from a fresh `context.get` when the
 * cache is behind: the decision is sent only if the same calls, with the same
 * arguments, are still pending. A STALE_VERSION answer is handled the same way
 * once more. The idempotency key is made per request and reused by the
 * automatic retries after a network failure.
 */
export function useApproveTools(
  contextId: string,
  queryKey: QueryKey,
  ensureFresh: () => Promise<ContextDetail | undefined>,
  onSettled: () => void,
) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();

  const build = (request: ApproveRequest, seen: ContextDetail | undefined, fresh: ContextDetail | undefined) => {
    const detail = fresh ?? seen;
    if (!detail) return null;
    const state = detail.state.state;
    if (state.type !== 'AwaitingToolApproval' || state.runId !== request.runId) return null;
    const pending = new Set(detail.state.pendingToolCalls.map((p) => p.id));
    if (!request.decisions.every((d) => pending.has(d.toolCallId))) return null;
    const hashes = new Map((seen ?? detail).toolCalls.map((t) => [t.id, t.argsHash]));
    return {
      contextId,
      runId: request.runId,
      expectedVersion: detail.state.version,
      decisions: request.decisions.map((d) => {
        const argsHash = hashes.get(d.toolCallId);
        return { ...d, ...(argsHash ? { argsHash } : {}) };
      }),
    };
  };

  return useMutation({
    mutationKey: trpc.chat.approveTools.mutationKey(),
    scope: { id: `approve-tools:${contextId}` },
    mutationFn: async (request: ApproveRequest) => {
      const seen = queryClient.getQueryData<ContextDetail>(queryKey);
      const send = async (fresh: ContextDetail | undefined) => {
        const input = build(request, seen, fresh);
        if (!input) throw new Error('These tool calls are no longer waiting for approval.');
        const idempotencyKey = newId();
        // Retried with the same key (same request) only when no answer came back or the server was busy.
        for (let attempt = 0; ; attempt++) {
          try {
            return await client.chat.approveTools.mutate({ ...input, idempotencyKey });
          } catch (error) {
            if (attempt < 2 && isRetriable(error)) {
              await new Promise((r) => setTimeout(r, retryDelayMs(attempt, error)));
              continue;
            }
            throw error;
          }
        }
      };
      try {
        return await send(await ensureFresh());
      } catch (error) {
        if (errorInfo(error).appCode !== 'STALE_VERSION') throw error;
        await queryClient.refetchQueries({ queryKey, exact: true });
        return send(queryClient.getQueryData<ContextDetail>(queryKey));
      }
    },
    onSettled,
  });
}
