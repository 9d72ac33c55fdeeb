'use client';

import { useRouter } from 'next/navigation';
import { useDrawer } from './drawer';

/**
 * Opens an empty composer (`/`). Nothing is created on the server until the
 * first message is sent, so clicking it never leaves an empty chat behind.
 */
export function NewChatButton() {
  const router = useRouter();
  const { setOpen } = useDrawer();
  return (
    <button
      type="button"
      className="button button-primary"
      data-testid="new-chat"
      onClick={() => {
        setOpen(false);
        router.push(`/?new=${Date.now().toString(36)}`);
      }}
    >
      + New chat
    </button>
  );
}
