'use client';

import { memo } from 'react';
import { isOptimistic, textOfParts } from '@/lib/context-cache';
import { clockTime } from '@/lib/format';
import type { ChatMessage, ToolCall } from '@/lib/types';
import { CopyButton } from './copy-button';
import { Markdown } from './markdown';
import { MessageEditor } from './message-editor';
import { ToolCallView, ToolResultView } from './tool-parts';
import { TypingDots } from './typing-dots';

const STATUS_NOTE: Partial<Record<ChatMessage['status'], string>> = {
  interrupted: 'Interrupted — the server stopped before this reply finished',
  cancelled: 'Stopped',
  error: 'The reply failed',
};

const ROLE_LABEL: Record<ChatMessage['role'], string> = {
  user: 'You',
  assistant: 'Assistant',
  tool: 'Tool',
  system: 'System',
};

/** Where the transcript forks at this message: "< 2/3 >" between the versions of it. */
export interface VariantNav {
  index: number;
  count: number;
  onPrevious: () => void;
  onNext: () => void;
  disabled: boolean;
}

interface Props {
  message: ChatMessage;
  toolCalls: ReadonlyMap<string, ToolCall>;
  onRegenerate?: ((messageId: string) => void) | undefined;
  /** Regenerating is offered but not possible right now (a reply is running). */
  regenerateDisabled?: boolean;
  /** Offered on the user's own messages: opens the inline editor. */
  onEdit?: ((messageId: string) => void) | undefined;
  /** Editing (or saving) is not possible right now, e.g. while a reply runs. */
  editDisabled?: boolean;
  /** This message is being edited: the editor replaces its text. */
  editing?: boolean;
  onSaveEdit?: ((messageId: string, content: string) => void) | undefined;
  onCancelEdit?: (() => void) | undefined;
  variants?: VariantNav | undefined;
  /** A user message whose run waits behind the active one. */
  queued?: boolean;
  /** The error of the run that produced this reply (dismissable). */
  runError?: { message: string; onDismiss: () => void } | undefined;
}

/** One message of the transcript: text (Markdown for replies), tool calls and results, its status and actions. */
export const MessageItem = memo(function MessageItem({
  message,
  toolCalls,
  onRegenerate,
  regenerateDisabled = false,
  onEdit,
  editDisabled = false,
  editing = false,
  onSaveEdit,
  onCancelEdit,
  variants,
  runError,
  queued = false,
}: Props) {
  const sending = isOptimistic(message);
  const status = sending ? 'sending' : message.status;
  const streaming = message.status === 'streaming';
  const note = STATUS_NOTE[message.status];
  const text = textOfParts(message.parts);
  const hasText = text.length > 0;
  const editable = onEdit !== undefined && !sending && message.role === 'user';
  const showActions = !editing && !sending && (hasText || onRegenerate !== undefined || variants !== undefined);

  return (
    <article
      className={`message message-${message.role} message-status-${status}${editing ? ' message-editing' : ''}`}
      data-testid="message"
      data-role={message.role}
      data-status={status}
      data-seq={sending ? undefined : message.seq}
      data-message-id={sending ? undefined : message.id}
      aria-busy={streaming || sending}
    >
      <div className="message-meta">
        <span className="message-role">{ROLE_LABEL[message.role]}</span>
        <time dateTime={message.createdAt.toISOString()}>{clockTime(message.createdAt)}</time>
        {sending ? <span className="message-flag">sending…</span> : null}
        {queued && !sending ? (
          <span className="message-flag message-queued" data-testid="queued-flag">
            queued
          </span>
        ) : null}
      </div>
      {editing && onSaveEdit && onCancelEdit ? (
        <MessageEditor
          initial={text}
          disabled={editDisabled}
          onSave={(content) => onSaveEdit(message.id, content)}
          onCancel={onCancelEdit}
        />
      ) : (
        <div className="message-body">
          {message.parts.map((part, i) => {
            switch (part.type) {
              case 'text':
                if (!part.text) return null;
                return message.role === 'assistant' ? (
                  <div key={i} className="message-text message-markdown" data-testid="message-text">
                    <Markdown text={part.text} streaming={streaming} />
                  </div>
                ) : (
                  <div key={i} className="message-text message-plain" data-testid="message-text">
                    {part.text}
                  </div>
                );
              case 'tool-call':
                return <ToolCallView key={part.toolCallId} part={part} call={toolCalls.get(part.toolCallId)} />;
              case 'tool-result':
                return <ToolResultView key={part.toolCallId} part={part} />;
              default:
                return null;
            }
          })}
          {streaming && !hasText ? <TypingDots label="thinking" /> : null}
          {message.attempts?.length ? (
            <details className="message-attempts" data-testid="message-attempts">
              <summary>Restarted after a server failure: earlier text ({message.attempts.length})</summary>
              {message.attempts.map((a) => (
                <div key={a.attempt} className="message-text message-plain message-attempt">
                  {a.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}
                </div>
              ))}
            </details>
          ) : null}
          {note ? (
            <div className={`message-note note-${message.status}`} data-testid="message-note">
              {note}
            </div>
          ) : null}
          {runError ? (
            <div className="message-run-error" role="alert" data-testid="run-error">
              <span>{runError.message}</span>
              <button type="button" className="button button-small button-ghost" data-testid="dismiss-run-error" onClick={runError.onDismiss}>
                Dismiss
              </button>
            </div>
          ) : null}
        </div>
      )}
      {showActions ? (
        <div className="message-actions">
          {variants ? (
            <span className="variant-nav" data-testid="variant-nav" data-index={variants.index} data-count={variants.count}>
              <button
                type="button"
                className="variant-button"
                data-testid="variant-previous"
                aria-label="Previous version"
                disabled={variants.disabled || variants.index <= 1}
                onClick={variants.onPrevious}
              >
                ‹
              </button>
              <span className="variant-label" data-testid="variant-label">
                {variants.index}/{variants.count}
              </span>
              <button
                type="button"
                className="variant-button"
                data-testid="variant-next"
                aria-label="Next version"
                disabled={variants.disabled || variants.index >= variants.count}
                onClick={variants.onNext}
              >
                ›
              </button>
            </span>
          ) : null}
          {hasText ? <CopyButton text={text} /> : null}
          {editable && !editing ? (
            <button
              type="button"
              className="button button-small button-ghost message-edit-button"
              data-testid="edit-message"
              disabled={editDisabled}
              title={editDisabled ? 'Wait for the reply to finish' : 'Edit this message (starts a new branch)'}
              onClick={() => onEdit?.(message.id)}
            >
              ✎ Edit
            </button>
          ) : null}
          {onRegenerate && !streaming ? (
            <button
              type="button"
              className="button button-small button-ghost"
              data-testid="regenerate"
              disabled={regenerateDisabled}
              title={regenerateDisabled ? 'Wait for the reply to finish' : 'Answer again (starts a new branch)'}
              onClick={() => onRegenerate(message.id)}
            >
              ↻ Regenerate
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
});
