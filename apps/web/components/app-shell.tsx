'use client';

import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { isAuthPage } from '@/lib/auth-client';
import { useSession } from './session-provider';
import { DrawerProvider, useDrawer } from './drawer';
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
      <DrawerProvider key={state.user.id}>
        <SignedInLayout guest={state.user.isAnonymous}>{children}</SignedInLayout>
      </DrawerProvider>
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

/** The chat list beside the page; on a phone, a drawer over it. */
function SignedInLayout({ guest, children }: { guest: boolean; children: ReactNode }) {
  const { open, setOpen } = useDrawer();
  return (
    <div className={open ? 'app drawer-open' : 'app'} data-testid="app" data-user-kind={guest ? 'guest' : 'user'}>
      <Sidebar />
      {open ? <div className="drawer-scrim" data-testid="drawer-scrim" aria-hidden onClick={() => setOpen(false)} /> : null}
      <main className="main">{children}</main>
    </div>
  );
}
