'use client';

import { useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import type { ChatMessage, ContextDetail } from '@/lib/types';
import { MessageItem } from './message-item';
import { TypingDots } from './typing-dots';

interface Props {
  detail: ContextDetail;
  onLoadEarlier: () => void;
  loadingEarlier: boolean;
  onRegenerate: (messageId: string) => void;
  regenerating: boolean;
  /** The user message open in the inline editor, if any. */
  editingMessageId: string | null;
  /** Editing is offered but not possible right now (a reply is running, a switch or an edit is on its way). */
  editDisabled: boolean;
  onEdit: (messageId: string) => void;
  onSaveEdit: (messageId: string, content: string) => void;
  onCancelEdit: () => void;
  children?: React.ReactNode;
}

/** The transcript in seq order; follows the bottom while the user is there. */
export function MessageList({
  detail,
  onLoadEarlier,
  loadingEarlier,
  onRegenerate,
  regenerating,
  editingMessageId,
  editDisabled,
  onEdit,
  onSaveEdit,
  onCancelEdit,
  children,
}: Props) {
  const { messages, toolCalls, state } = detail;
  const toolCallsById = useMemo(() => new Map(toolCalls.map((t) => [t.id, t])), [toolCalls]);
  const busy = state.state.type !== 'Idle';
  const last = messages.at(-1);
  const lastAssistant = findLast(messages, (m) => m.role === 'assistant');
  const canRegenerate = !busy && lastAssistant !== undefined && lastAssistant === last && lastAssistant.status !== 'streaming';
  // Busy, but the reply has not started yet: show that something is happening.
  const waitingForReply =
    state.state.type === 'ProcessingUserMessage' && !messages.some((m) => m.role === 'assistant' && m.status === 'streaming');

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, []);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });

  return (
    <div className="message-scroller" ref={scroller}>
      <div className="message-list" data-testid="message-list">
        {detail.messagesCursor !== null ? (
          <button
            type="button"
            className="button button-small button-ghost load-earlier"
            data-testid="load-earlier"
            disabled={loadingEarlier}
            onClick={onLoadEarlier}
          >
            {loadingEarlier ? 'Loading…' : 'Load earlier messages'}
          </button>
        ) : null}
        {messages.length === 0 ? (
          <div className="transcript-empty">
            <p>Send a message to start.</p>
            <p className="hint">
              Try <code>/tool calculate {'{"expression":"6*7"}'}</code>, <code>what time is it?</code> or{' '}
              <code>/tool save_note {'{"title":"Idea","body":"hello"}'}</code>.
            </p>
          </div>
        ) : null}
        {messages.map((message) => (
          <MessageItem
            key={message.clientMessageId ?? message.id}
            message={message}
            toolCalls={toolCallsById}
            onRegenerate={canRegenerate && message === lastAssistant ? () => onRegenerate(message.id) : undefined}
            regenerating={regenerating}
            {...(message.role === 'user'
              ? {
                  onEdit,
                  editDisabled,
                  editing: message.id === editingMessageId,
                  onSaveEdit,
                  onCancelEdit,
                }
              : {})}
          />
        ))}
        {waitingForReply ? (
          <div className="message message-assistant message-placeholder" aria-live="polite">
            <TypingDots label="thinking" />
          </div>
        ) : null}
        {children}
      </div>
    </div>
  );
}

function findLast<T>(items: readonly T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return items[i];
  return undefined;
}

export type { ChatMessage };
