/**
 * "The server says this browser has no identity" (UNAUTHORIZED /
 * UNAUTHENTICATED from any tRPC call), from the query client to the auth gate,
 * which then checks the session again.
 */
type Listener = () => void;
const listeners = new Set<Listener>();

export function onUnauthenticated(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function isUnauthenticated(error: unknown): boolean {
  const data = (error as { data?: { code?: string; appCode?: string } | null } | null)?.data;
  return data?.appCode === 'UNAUTHENTICATED' || data?.code === 'UNAUTHORIZED';
}

/** Tells the gate when `error` means the session is gone. */
export function reportIfUnauthenticated(error: unknown): void {
  if (!isUnauthenticated(error)) return;
  for (const listener of listeners) listener();
}
