'use client';

import { AccountFooter } from './account-footer';
import { ContextList } from './context-list';
import { useDrawer } from './drawer';
import { GuestBanner } from './guest-banner';
import { NewChatButton } from './new-chat-button';
import { ThemeToggle } from './theme-toggle';

/** Left column (a drawer on phones): the user's chats, newest activity first, search, "New chat", and who is signed in. */
export function Sidebar() {
  const { open } = useDrawer();
  return (
    <aside className="sidebar" data-testid="sidebar" data-open={open || undefined} aria-label="Sidebar">
      <div className="sidebar-header">
        <span className="brand">Chat</span>
        <div className="sidebar-header-actions">
          <ThemeToggle />
          <NewChatButton />
        </div>
      </div>
      <GuestBanner />
      <ContextList />
      <AccountFooter />
    </aside>
  );
}
