'use client';

import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { isAuthPage } from '@/lib/auth-client';
import { useSession } from './session-provider';
import { Sidebar } from './sidebar';

/**
 * The auth gate: the sign-in and sign-up pages render on their own; every
 * other page (and so every tRPC query) waits until this browser has an
 * identity, a guest one at the least.
 */
export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const { state, refresh } = useSession();

  if (isAuthPage(pathname)) return <main className="auth-main">{children}</main>;

  if (state.status === 'signed-in') {
    return (
      // A new identity remounts everything that read the old one's data.
      <div className="app" key={state.user.id} data-testid="app" data-user-kind={state.user.isAnonymous ? 'guest' : 'user'}>
        <Sidebar />
        <main className="main">{children}</main>
      </div>
    );
  }

  if (state.status === 'error') {
    return (
      <main className="auth-main">
        <div className="auth-card" role="alert" data-testid="session-error">
          <h1>Could not open the app</h1>
          <p>{state.message}</p>
          <button type="button" className="button button-primary" onClick={refresh}>
            Try again
          </button>
        </div>
      </main>
    );
  }

  return (
    <main className="auth-main">
      <p className="auth-starting" aria-busy="true" data-testid="session-loading">
        Starting…
      </p>
    </main>
  );
}
