'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useState } from 'react';
import { authErrorMessage, signOut } from '@/lib/auth-client';
import { useUser } from './session-provider';

/** The sidebar's foot: who is signed in, settings, and sign out (or sign in, for a guest). */
export function AccountFooter() {
  const user = useUser();
  const pathname = usePathname();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onSettings = pathname === '/settings';

  async function onSignOut() {
    setPending(true);
    setError(null);
    try {
      await signOut();
      // A full load: nothing of this account stays in memory, its live connections close.
      window.location.assign('/sign-in?signedOut=1');
    } catch (e) {
      setError(authErrorMessage(e));
      setPending(false);
    }
  }

  return (
    <div className="account-footer" data-testid="account-footer">
      <div className="account-who">
        {user.isAnonymous ? (
          <span className="account-name" data-testid="account-name">
            Guest
          </span>
        ) : (
          <>
            <span className="account-name" data-testid="account-name" title={user.name}>
              {user.name || user.email}
            </span>
            <span className="account-email" data-testid="account-email" title={user.email}>
              {user.email}
            </span>
          </>
        )}
      </div>
      <div className="account-actions">
        <Link
          href="/settings"
          className="button button-ghost button-small"
          aria-current={onSettings ? 'page' : undefined}
          data-testid="settings-link"
        >
          Settings
        </Link>
        {user.isAnonymous ? (
          <Link href="/sign-in" className="button button-secondary button-small" data-testid="sign-in-link">
            Sign in
          </Link>
        ) : (
          <button
            type="button"
            className="button button-secondary button-small"
            onClick={() => void onSignOut()}
            disabled={pending}
            aria-label={`Sign out ${user.email}`}
            data-testid="sign-out"
          >
            {pending ? 'Signing out…' : 'Sign out'}
          </button>
        )}
      </div>
      {error ? (
        <p className="sidebar-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
