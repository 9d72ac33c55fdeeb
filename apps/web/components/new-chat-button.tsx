'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useRef } from 'react';
import { errorInfo, isNetworkError } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { useTRPC } from '@/lib/trpc';

/** `context.create`, then open the new chat. */
export function NewChatButton() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const key = useRef<string | null>(null);
  const create = useMutation(
    trpc.context.create.mutationOptions({
      retry: (count, error) => count < 3 && isNetworkError(error),
      onSuccess: (result) => {
        key.current = null;
        void queryClient.invalidateQueries(trpc.context.list.pathFilter());
        router.push(`/c/${encodeURIComponent(result.context.id)}`);
      },
    }),
  );
  return (
    <>
      <button
        type="button"
        className="button button-primary"
        data-testid="new-chat"
        disabled={create.isPending}
        onClick={() => {
          // The key survives a failed attempt, so clicking again cannot create two chats.
          key.current ??= newId();
          create.mutate({ idempotencyKey: key.current });
        }}
      >
        + New chat
      </button>
      {create.error ? (
        <p className="sidebar-error" role="alert">
          {errorInfo(create.error).message}
        </p>
      ) : null}
    </>
  );
}
