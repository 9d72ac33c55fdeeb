'use client';

import Link from 'next/link';
import { useUser } from './session-provider';

/** A guest's chats live in a guest account on this browser: say so, and offer to keep them. */
export function GuestBanner() {
  const user = useUser();
  if (!user.isAnonymous) return null;
  return (
    <div className="guest-banner" role="note" data-testid="guest-banner">
      <span>You are a guest.</span>{' '}
      <Link href="/sign-up" data-testid="guest-sign-up">
        Sign up to keep your chats.
      </Link>
    </div>
  );
}
