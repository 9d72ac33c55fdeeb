'use client';

import { useSyncExternalStore } from 'react';

/**
 * The server's message limit (MAX_MESSAGE_CHARS) as this tab learned it: the
 * API does not publish it, a MESSAGE_TOO_LONG answer states it. Kept for the
 * session, so the composer counts against it from then on.
 */
const KEY = 'chat.maxMessageChars';
const listeners = new Set<() => void>();

export function rememberMessageLimit(max: number) {
  try {
    sessionStorage.setItem(KEY, String(max));
  } catch {
    // storage unavailable: the limit is only learned again next time
  }
  for (const l of listeners) l();
}

function read(): number | undefined {
  try {
    const value = Number(sessionStorage.getItem(KEY));
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

export function useMessageLimit(): number | undefined {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    read,
    () => undefined,
  );
}
