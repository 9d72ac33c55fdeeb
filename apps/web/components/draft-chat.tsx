'use client';

import { useState } from 'react';
import { useCreateChat } from '@/hooks/use-create-chat';
import { useMessageLimit } from '@/lib/message-limit';
import { Composer } from './composer';
import { DrawerButton } from './drawer';

/**
 * A new chat before its first message: an empty composer. Sending creates
 * the chat with that message (see useCreateChat) and opens it.
 */
export function DraftChat() {
  const create = useCreateChat();
  const maxChars = useMessageLimit();
  const [lastSent, setLastSent] = useState<string | null>(null);
  const pending = create.sending;

  return (
    <section className="chat chat-draft" data-testid="draft-chat">
      <header className="chat-header">
        <div className="chat-header-start">
          <DrawerButton />
          <div className="chat-heading">
            <h1 className="chat-title">New chat</h1>
            <div className="chat-subtitle-row">
              <span className="chat-subtitle">Nothing is saved until you send the first message.</span>
            </div>
          </div>
        </div>
      </header>
      <div className="message-area">
        <div className="message-scroller">
          <div className="message-list" data-testid="message-list">
            {pending ? (
              <article className="message message-user message-status-sending" data-testid="message" data-role="user" data-status="sending">
                <div className="message-meta">
                  <span className="message-role">You</span>
                  <span className="message-flag">sending…</span>
                </div>
                <div className="message-body">
                  <div className="message-text message-plain" data-testid="message-text">
                    {pending}
                  </div>
                </div>
              </article>
            ) : (
              <div className="transcript-empty">
                <p>Send a message to start.</p>
                <p className="hint">
                  Try <code>/echo # A heading</code>, <code>what time is it?</code> or{' '}
                  <code>/tool save_note {'{"title":"Idea","body":"hello"}'}</code>.
                </p>
              </div>
            )}
          </div>
        </div>
      </div>
      <footer className="chat-footer">
        {create.error && lastSent !== null && !pending ? (
          <div className="banner banner-error" role="alert" data-testid="send-error">
            <div className="banner-text">
              <strong>Not sent:</strong> <span className="failed-content">{lastSent.length > 200 ? `${lastSent.slice(0, 200)}…` : lastSent}</span>
              <div className="banner-detail" data-testid="send-error-detail">
                {create.error}
              </div>
            </div>
            <div className="banner-actions">
              <button type="button" className="button button-small button-secondary" data-testid="retry-send" onClick={() => create.send(lastSent)}>
                Retry
              </button>
              <button type="button" className="button button-small button-ghost" data-testid="dismiss-send-error" onClick={create.reset}>
                Dismiss
              </button>
            </div>
          </div>
        ) : null}
        <Composer
          busy={false}
          queues
          maxChars={maxChars}
          disabled={pending !== undefined}
          onSend={(content) => {
            setLastSent(content);
            create.send(content);
          }}
        />
      </footer>
    </section>
  );
}
