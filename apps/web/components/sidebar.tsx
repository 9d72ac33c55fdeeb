'use client';

import { AccountFooter } from './account-footer';
import { ContextList } from './context-list';
import { GuestBanner } from './guest-banner';
import { NewChatButton } from './new-chat-button';

/** Left column: the user's chats, newest activity first, "New chat", and who is signed in. */
export function Sidebar() {
  return (
    <aside className="sidebar">
      <div className="sidebar-header">
        <span className="brand">Chat</span>
        <NewChatButton />
      </div>
      <GuestBanner />
      <ContextList />
      <AccountFooter />
    </aside>
  );
}
