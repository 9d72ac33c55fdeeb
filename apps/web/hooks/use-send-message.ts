'use client';

import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import {
  addOptimisticMessage,
  confirmMessage,
  removeOptimisticMessage,
  type PendingEdit,
} from '@/lib/context-cache';
import { errorInfo, isRetriable, messageLimitOf, retryDelayMs } from '@/lib/errors';
import { rememberMessageLimit } from '@/lib/message-limit';
import { DEFAULT_TITLE, titleFrom } from '@/lib/title';
import { newId } from '@/lib/ids';
import { useTRPC } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';

/** One send: its ids are made once and reused by every retry of it. */
export interface Outgoing {
  contextId: string;
  content: string;
  clientMessageId: string;
  idempotencyKey: string;
  /** An edit: the user message it replaces (the server forks a branch for it). */
  editOfMessageId?: string;
}

export interface FailedSend {
  outgoing: Outgoing;
  error: string;
  /** Sending it again may work (not for a message the server refuses as such: too long, invalid). */
  retriable: boolean;
}

const REFUSED_AS_SUCH = new Set(['MESSAGE_TOO_LONG', 'INVALID_INPUT']);

/** Retries of one send (same clientMessageId and idempotencyKey) before it is shown as failed. */
const RETRIES = 5;

/**
 * `chat.sendMessage` with an optimistic user message: it appears at once
 * (marked "sending"), is removed again if the server refuses it (the error
 * stays visible with Retry, which resends the SAME clientMessageId and
 * idempotencyKey), and is replaced by the server's message on success.
 *
 * An edit (`edit`) is the same request with `editOfMessageId`. Its optimistic
 * copy is not put in the cache (it belongs to a branch that does not exist
 * yet): `pendingEdit` describes it, and the chat shows it with
 * `withPendingEdit` until the server's copy is in the cache (by the branch
 * events, or by a refetch once the server has answered).
 */
export function useSendMessage(contextId: string, queryKey: QueryKey, onSettled: () => void) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [failed, setFailed] = useState<FailedSend[]>([]);
  const [pendingEdit, setPendingEdit] = useState<PendingEdit | null>(null);
  const update = useCallback(
    (fn: (d: ContextDetail) => ContextDetail) =>
      queryClient.setQueryData<ContextDetail>(queryKey, (old) => (old ? fn(old) : old)),
    [queryClient, queryKey],
  );
  const rename = useMutation(
    trpc.context.update.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries(trpc.context.list.pathFilter()),
    }),
  );

  const mutation = useMutation(
    trpc.chat.sendMessage.mutationOptions({
      // One at a time per chat, so messages are stored in the order they were typed
      // (a batch of parallel requests could be accepted in any order). onMutate still
      // runs at once, so queued sends show immediately.
      scope: { id: `send-message:${contextId}` },
      // Only failures without an answer, or SERVICE_BUSY (nothing was stored), are retried:
      // the same idempotency key makes that safe. The server's retryAfterMs sets the pause.
      retry: (count, error) => count < RETRIES && isRetriable(error),
      retryDelay: retryDelayMs,
      onMutate: (input) => {
        setFailed((list) => list.filter((f) => f.outgoing.clientMessageId !== input.clientMessageId));
        if (input.clientMessageId && input.editOfMessageId) {
          const edit: PendingEdit = {
            editOfMessageId: input.editOfMessageId,
            clientMessageId: input.clientMessageId,
            content: input.content,
            createdAt: new Date(),
          };
          setPendingEdit(edit);
        } else if (input.clientMessageId) {
          update((d) => addOptimisticMessage(d, { clientMessageId: input.clientMessageId!, content: input.content }));
        }
      },
      onError: (error, input) => {
        const max = messageLimitOf(error);
        if (max !== undefined) rememberMessageLimit(max);
        if (input.clientMessageId) update((d) => removeOptimisticMessage(d, input.clientMessageId!));
        setPendingEdit((edit) => (edit && edit.clientMessageId === input.clientMessageId ? null : edit));
        setFailed((list) => [
          ...list,
          {
            outgoing: {
              contextId: input.contextId,
              content: input.content,
              clientMessageId: input.clientMessageId ?? newId(),
              idempotencyKey: input.idempotencyKey ?? newId(),
              ...(input.editOfMessageId ? { editOfMessageId: input.editOfMessageId } : {}),
            },
            error: errorInfo(error).message,
            retriable: !REFUSED_AS_SUCH.has(errorInfo(error).appCode ?? ''),
          },
        ]);
      },
      onSuccess: async (response, input) => {
        if (input.editOfMessageId) {
          // The edit's message is on the new branch: the branch events bring it, or
          // else a refetch. Either way the cache then shows the server's view.
          const here = () =>
            queryClient.getQueryData<ContextDetail>(queryKey)?.messages.some((m) => m.id === response.message.id) ?? true;
          if (!here()) await queryClient.refetchQueries({ queryKey, exact: true });
          setPendingEdit((edit) => (edit && edit.clientMessageId === input.clientMessageId ? null : edit));
          return;
        }
        if (input.clientMessageId) update((d) => confirmMessage(d, response.message, input.clientMessageId!));
        // Name a fresh chat after its first message.
        const detail = queryClient.getQueryData<ContextDetail>(queryKey);
        if (detail && detail.context.title === DEFAULT_TITLE && !response.replayed) {
          const firstUser = detail.messages.find((m) => m.role === 'user');
          if (!firstUser || firstUser.id === response.message.id) {
            rename.mutate({ contextId, title: titleFrom(input.content), idempotencyKey: `title:${response.message.id}` });
          }
        }
      },
      onSettled,
    }),
  );

  const send = useCallback(
    (content: string) => {
      const outgoing: Outgoing = { contextId, content, clientMessageId: newId(), idempotencyKey: newId() };
      mutation.mutate(outgoing);
    },
    [contextId, mutation],
  );
  const { mutate } = mutation; // stable, unlike the result object
  const edit = useCallback(
    (editOfMessageId: string, content: string) => {
      const outgoing: Outgoing = { contextId, content, clientMessageId: newId(), idempotencyKey: newId(), editOfMessageId };
      mutate(outgoing);
    },
    [contextId, mutate],
  );
  const retry = useCallback((outgoing: Outgoing) => mutation.mutate(outgoing), [mutation]);
  const dismiss = useCallback(
    (clientMessageId: string) => setFailed((list) => list.filter((f) => f.outgoing.clientMessageId !== clientMessageId)),
    [],
  );

  return { send, edit, retry, dismiss, failed, pendingEdit, pending: mutation.isPending };
}
