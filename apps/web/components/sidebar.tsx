'use client';

import { ContextList } from './context-list';
import { NewChatButton } from './new-chat-button';

/** Left column: the owner's chats, newest activity first, and "New chat". */
export function Sidebar() {
  return (
    <aside className="sidebar">
      <div className="sidebar-header">
        <span className="brand">Chat</span>
        <NewChatButton />
      </div>
      <ContextList />
    </aside>
  );
}
