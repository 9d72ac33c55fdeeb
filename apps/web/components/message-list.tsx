'use client';

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { isOptimistic, textOfParts } from '@/lib/context-cache';
import type { ChatMessage, ContextDetail } from '@/lib/types';
import { MessageItem, type VariantNav } from './message-item';
import { TypingDots } from './typing-dots';

/** Within this many pixels of the bottom, the transcript follows new content. */
const PINNED_PX = 80;
/** Within this many pixels of the top, the page before is loaded. */
const LOAD_EARLIER_PX = 240;

interface Props {
  detail: ContextDetail;
  onLoadEarlier: () => void;
  loadingEarlier: boolean;
  onRegenerate: (messageId: string) => void;
  /** Forking (regenerate, edit, switching versions) is not possible right now. */
  forkDisabled: boolean;
  /** The user message open in the inline editor, if any. */
  editingMessageId: string | null;
  onEdit: (messageId: string) => void;
  onSaveEdit: (messageId: string, content: string) => void;
  onCancelEdit: () => void;
  /** Changes each time the user sends: the transcript scrolls to the bottom. */
  sentSignal: number;
  /** "< 2/3 >" for the messages where the transcript forks. */
  variantsOf?: ((message: ChatMessage) => VariantNav | undefined) | undefined;
  /** The failed run's error, shown on its reply. */
  runErrorFor?: ((message: ChatMessage) => { message: string; onDismiss: () => void } | undefined) | undefined;
  /** User messages whose runs wait behind the active one. */
  queuedIds?: ReadonlySet<string> | undefined;
  /** What the server is doing before the reply has started ("Thinking…"), or null. */
  waitingLabel: string | null;
}

/**
 * The transcript in seq order. It follows the bottom while the user is there;
 * reading above, new content shows a "Jump to latest" button instead; the
 * user's own send always scrolls down. Scrolling to the top loads the page
 * before and keeps the reader's place.
 */
export function MessageList({
  detail,
  onLoadEarlier,
  loadingEarlier,
  onRegenerate,
  forkDisabled,
  editingMessageId,
  onEdit,
  onSaveEdit,
  onCancelEdit,
  sentSignal,
  variantsOf,
  runErrorFor,
  queuedIds,
  waitingLabel,
}: Props) {
  const { messages, toolCalls } = detail;
  const toolCallsById = useMemo(() => new Map(toolCalls.map((t) => [t.id, t])), [toolCalls]);
  const hasEarlier = detail.messagesCursor !== null;

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const [hasNew, setHasNew] = useState(false);
  const [atBottom, setAtBottom] = useState(true);

  // ---- keeping the reader's place when older messages go in front ---------------------------
  const firstId = messages[0]?.id;
  const anchor = useRef<{ firstId: string | undefined; fromBottom: number } | null>(null);
  const loadEarlier = useCallback(() => {
    const el = scroller.current;
    if (!el || loadingEarlier || !hasEarlier) return;
    anchor.current = { firstId, fromBottom: el.scrollHeight - el.scrollTop };
    onLoadEarlier();
  }, [firstId, hasEarlier, loadingEarlier, onLoadEarlier]);

  const loadEarlierRef = useRef(loadEarlier);
  loadEarlierRef.current = loadEarlier;
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < PINNED_PX;
      pinned.current = bottom;
      setAtBottom(bottom);
      if (bottom) setHasNew(false);
      if (el.scrollTop < LOAD_EARLIER_PX) loadEarlierRef.current();
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, []);

  // ---- following the bottom, or telling the reader something new arrived -------------------
  const last = messages.at(-1);
  const signature = `${messages.length}:${last?.id}:${last ? textOfParts(last.parts).length : 0}:${last?.status}:${waitingLabel}`;
  const lastSignature = useRef(signature);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const kept = anchor.current;
    if (kept && kept.firstId !== firstId) {
      anchor.current = null;
      el.scrollTop = el.scrollHeight - kept.fromBottom;
      return;
    }
    if (pinned.current) el.scrollTop = el.scrollHeight;
    else if (signature !== lastSignature.current) setHasNew(true);
    lastSignature.current = signature;
  });

  const jumpToLatest = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    pinned.current = true;
    setHasNew(false);
    el.scrollTop = el.scrollHeight;
  }, []);
  // The user's own send: bring them to it.
  const firstSignal = useRef(sentSignal);
  useLayoutEffect(() => {
    if (sentSignal !== firstSignal.current) jumpToLatest();
  }, [sentSignal, jumpToLatest]);

  // A short transcript with older pages never scrolls: load until it does.
  useEffect(() => {
    const el = scroller.current;
    if (el && hasEarlier && !loadingEarlier && el.scrollHeight <= el.clientHeight + LOAD_EARLIER_PX) loadEarlier();
  }, [hasEarlier, loadingEarlier, loadEarlier, messages.length]);

  return (
    <div className="message-area">
      <div className="message-scroller" ref={scroller} data-testid="message-scroller">
        <div className="message-list" data-testid="message-list">
          {hasEarlier ? (
            <button
              type="button"
              className="button button-small button-ghost load-earlier"
              data-testid="load-earlier"
              disabled={loadingEarlier}
              onClick={loadEarlier}
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
              onRegenerate={message.role === 'assistant' && message.runId && !isOptimistic(message) ? onRegenerate : undefined}
              regenerateDisabled={forkDisabled}
              variants={variantsOf?.(message)}
              runError={runErrorFor?.(message)}
              queued={queuedIds?.has(message.id) ?? false}
              {...(message.role === 'user'
                ? {
                    onEdit,
                    editDisabled: forkDisabled,
                    editing: message.id === editingMessageId,
                    onSaveEdit,
                    onCancelEdit,
                  }
                : {})}
            />
          ))}
          {waitingLabel ? (
            <div className="message message-assistant message-placeholder" aria-live="polite" data-testid="waiting" data-label={waitingLabel}>
              <TypingDots label={waitingLabel} />
              <span className="waiting-label">{waitingLabel}</span>
            </div>
          ) : null}
        </div>
      </div>
      {hasNew && !atBottom ? (
        <button type="button" className="jump-to-latest" data-testid="jump-to-latest" onClick={jumpToLatest}>
          ↓ Jump to latest
        </button>
      ) : null}
    </div>
  );
}
