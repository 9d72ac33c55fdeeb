'use client';

import { useMutation } from '@tanstack/react-query';
import { useRef } from 'react';
import { isRetriable, retryDelayMs } from '@/lib/errors';
import { newId } from '@/lib/ids';
import { useTRPC } from '@/lib/trpc';

/** Stop (`chat.cancel`) and Regenerate (`chat.regenerate`), each with an idempotency key reused on retry. */
export function useRunControls(contextId: string, onSettled: () => void) {
  const trpc = useTRPC();
  const retry = (count: number, error: unknown) => count < 3 && isRetriable(error);
  const cancelKey = useRef<{ runId: string | undefined; key: string } | null>(null);

  const cancel = useMutation(trpc.chat.cancel.mutationOptions({ retry, retryDelay: retryDelayMs, onSettled }));
  const regenerate = useMutation(trpc.chat.regenerate.mutationOptions({ retry, retryDelay: retryDelayMs, onSettled }));

  return {
    stop: (runId: string | undefined) => {
      // Pressing Stop twice for the same run is the same request.
      const previous = cancelKey.current;
      const key = previous && previous.runId === runId ? previous.key : newId();
      cancelKey.current = { runId, key };
      cancel.mutate({ contextId, ...(runId ? { runId } : {}), idempotencyKey: key });
    },
    stopping: cancel.isPending,
    stopError: cancel.error,
    regenerate: (messageId: string) => regenerate.mutate({ contextId, messageId, idempotencyKey: newId() }),
    regenerating: regenerate.isPending,
    regenerateError: regenerate.error,
  };
}
