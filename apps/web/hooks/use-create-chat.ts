'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useRef } from 'react';
import { errorInfo, isRetriable, messageLimitOf, retryDelayMs } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { rememberMessageLimit } from '@/lib/message-limit';
import { titleFrom } from '@/lib/title';
import { useTRPC, useTRPCClient } from '@/lib/trpc';

/** A new chat's first message, with the ids every retry of it reuses. */
interface Draft {
  /** One idempotency key for the pair: `<key>:create` and `<key>:send`. */
  key: string;
  clientMessageId: string;
  content: string;
  /** The chat, once created (a retry after a failed send only sends). */
  contextId?: string;
}

export interface DraftOptions {
  model?: string | undefined;
  systemPrompt?: string | undefined;
}

/**
 * "New chat": the chat is created with its first message, so an empty
 * composer never leaves an empty chat behind. `context.create` (titled from
 * the message) and `chat.sendMessage` share one idempotency key, so a retry
 * after a lost answer creates and sends exactly once; then the chat opens.
 */
export function useCreateChat() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const router = useRouter();
  const draft = useRef<Draft | null>(null);

  const mutation = useMutation({
    mutationFn: async ({ content, options }: { content: string; options: DraftOptions }) => {
      const d = draft.current && draft.current.content === content ? draft.current : { key: newId(), clientMessageId: newId(), content, contextId: draft.current?.contextId };
      draft.current = d;
      if (!d.contextId) {
        const { context } = await client.context.create.mutate({
          title: titleFrom(content),
          ...(options.model ? { model: options.model } : {}),
          ...(options.systemPrompt?.trim() ? { systemPrompt: options.systemPrompt } : {}),
          idempotencyKey: `${d.key}:create`,
        });
        d.contextId = context.id;
      }
      await client.chat.sendMessage.mutate({ contextId: d.contextId, content, clientMessageId: d.clientMessageId, idempotencyKey: `${d.key}:send` });
      return d.contextId;
    },
    retry: (count, error) => count < 5 && isRetriable(error),
    retryDelay: retryDelayMs,
    onSuccess: (contextId) => {
      draft.current = null;
      void queryClient.invalidateQueries(trpc.context.list.pathFilter());
      router.replace(`/c/${encodeURIComponent(contextId)}`);
    },
    onError: (error) => {
      const max = messageLimitOf(error);
      if (max !== undefined) rememberMessageLimit(max);
    },
  });

  return {
    send: (content: string, options: DraftOptions = {}) => mutation.mutate({ content, options }),
    sending: mutation.isPending ? mutation.variables?.content : undefined,
    error: mutation.error ? errorInfo(mutation.error).message : null,
    failedContent: mutation.isError ? mutation.variables?.content : undefined,
    reset: mutation.reset,
  };
}
