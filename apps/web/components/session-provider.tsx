'use client';

import { useQueryClient } from '@tanstack/react-query';
import { usePathname, useRouter } from 'next/navigation';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { AuthError, fetchSession, isAuthPage, signInAnonymous, type SessionUser } from '@/lib/auth-client';
import { onUnauthenticated } from '@/lib/auth-events';

/**
 * Who this browser is. `signed-out` happens only where no guest is made: on
 * the sign-in and sign-up pages, when the deployment has guests off, or when a
 * registered user's session ended.
 */
export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-in'; user: SessionUser }
  | { status: 'signed-out'; reason: 'guests-off' | 'no-session' | 'session-ended' }
  | { status: 'error'; message: string };

interface SessionContextValue {
  state: SessionState;
  /** Known once the server refused a guest (AUTH_GUESTS=off). */
  guestsOff: boolean;
  /** Checks the session again (and makes a guest where one is wanted). */
  refresh: () => void;
  /** Call when the server answered UNAUTHENTICATED: the session is gone. */
  lost: () => void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

type Outcome = { user: SessionUser } | { guestsOff: true } | { none: true };

/**
 * One check per tab at a time (React's strict mode mounts twice; two checks
 * would make two guests): the session, else (where wanted) a new guest.
 */
let inflight: Promise<Outcome> | null = null;
function resolveIdentity(makeGuest: boolean): Promise<Outcome> {
  inflight ??= (async (): Promise<Outcome> => {
    const user = await fetchSession();
    if (user) return { user };
    if (!makeGuest) return { none: true };
    const result = await signInAnonymous();
    if (result === 'disabled') return { guestsOff: true };
    // Created, or another tab made this browser a guest a moment ago: either way the cookie is set now.
    const guest = await fetchSession();
    if (guest) return { user: guest };
    throw new AuthError(200, 'NO_COOKIE', '');
  })().finally(() => {
    inflight = null;
  });
  return inflight;
}

function bootstrapMessage(error: unknown): string {
  if (error instanceof AuthError && error.code === 'NO_COOKIE') {
    return 'Your browser did not keep the session cookie. Allow cookies for this site and reload.';
  }
  if (error instanceof AuthError && error.status === undefined) return 'The server could not be reached. Check your connection and try again.';
  if (error instanceof AuthError && error.status === 429) return 'Too many new sessions from your network. Please wait a minute and try again.';
  return 'Could not start your session. Please try again in a moment.';
}

/**
 * The auth gate's state: on first load it asks for the session; without one
 * it makes this browser a guest (POST /api/auth/sign-in/anonymous) and goes on
 * into the chat with no extra step; when guests are off it sends the browser
 * to /sign-in. Nothing below it that needs an identity renders before that.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const [guestsOff, setGuestsOff] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const onAuthPage = isAuthPage(pathname);
  const lastUser = useRef<SessionUser | null>(null);

  // Check (again) when first mounted, when asked to, and when a signed-out
  // browser leaves the auth pages (e.g. "continue as a guest").
  const needsCheck = state.status === 'loading' || (state.status === 'signed-out' && !onAuthPage && state.reason === 'no-session');
  useEffect(() => {
    if (!needsCheck) return;
    let cancelled = false;
    resolveIdentity(!onAuthPage).then(
      (outcome) => {
        if (cancelled) return;
        if ('user' in outcome) {
          // Another identity than before (signed in elsewhere in this tab): nothing cached may leak across.
          if (lastUser.current && lastUser.current.id !== outcome.user.id) queryClient.clear();
          lastUser.current = outcome.user;
          setState({ status: 'signed-in', user: outcome.user });
        } else if ('guestsOff' in outcome) {
          setGuestsOff(true);
          setState({ status: 'signed-out', reason: 'guests-off' });
        } else {
          setState({ status: 'signed-out', reason: 'no-session' });
        }
      },
      (error: unknown) => {
        if (!cancelled) setState({ status: 'error', message: bootstrapMessage(error) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [needsCheck, onAuthPage, attempt, queryClient]);

  // Signed out outside the auth pages, with no guest to be: sign in first.
  const mustSignIn = state.status === 'signed-out' && state.reason !== 'no-session' && !onAuthPage;
  useEffect(() => {
    if (!mustSignIn) return;
    const here = `${window.location.pathname}${window.location.search}`;
    router.replace(here === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(here)}`);
  }, [mustSignIn, router]);

  const refresh = useCallback(() => {
    setState({ status: 'loading' });
    setAttempt((n) => n + 1);
  }, []);

  const stateRef = useRef(state);
  stateRef.current = state;
  const lastLost = useRef(0);
  const lost = useCallback(() => {
    const current = stateRef.current;
    if (current.status !== 'signed-in') return;
    queryClient.clear();
    // The session checks out but the API refuses it again at once: say so rather than loop.
    const now = Date.now();
    const again = now - lastLost.current < 10_000;
    lastLost.current = now;
    if (again) {
      setState({ status: 'error', message: 'The server did not accept your session. Reload the page to try again.' });
      return;
    }
    // A guest simply gets a new guest session; an account must sign in again.
    if (current.user.isAnonymous) refresh();
    else setState({ status: 'signed-out', reason: 'session-ended' });
  }, [queryClient, refresh]);
  useEffect(() => onUnauthenticated(lost), [lost]);

  // Back to this tab after signing in or out in another one: the cookie (shared by
  // every tab) may name someone else now. Start over as whoever it is.
  useEffect(() => {
    const check = () => {
      const current = stateRef.current;
      if (document.visibilityState !== 'visible' || current.status !== 'signed-in') return;
      fetchSession().then(
        (user) => {
          const now = stateRef.current;
          if (now.status !== 'signed-in' || now.user.id !== current.user.id) return;
          if (!user) lost();
          else if (user.id !== current.user.id) window.location.reload();
        },
        () => {},
      );
    };
    document.addEventListener('visibilitychange', check);
    return () => document.removeEventListener('visibilitychange', check);
  }, [lost]);

  const value = useMemo(() => ({ state, guestsOff, refresh, lost }), [state, guestsOff, refresh, lost]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside <SessionProvider>');
  return value;
}

/** The signed-in user (only inside the signed-in app shell). */
export function useUser(): SessionUser {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useUser without a signed-in user');
  return state.user;
}
