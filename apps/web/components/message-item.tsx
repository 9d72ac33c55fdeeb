'use client';

import { memo } from 'react';
import { isOptimistic, textOfParts } from '@/lib/context-cache';
import { clockTime } from '@/lib/format';
import type { ChatMessage, ToolCall } from '@/lib/types';
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

interface Props {
  message: ChatMessage;
  toolCalls: ReadonlyMap<string, ToolCall>;
  onRegenerate?: (() => void) | undefined;
  regenerating?: boolean;
  /** Offered on the user's own messages: opens the inline editor. */
  onEdit?: ((messageId: string) => void) | undefined;
  /** Editing (or saving) is not possible right now, e.g. while a reply runs. */
  editDisabled?: boolean;
  /** This message is being edited: the editor replaces its text. */
  editing?: boolean;
  onSaveEdit?: ((messageId: string, content: string) => void) | undefined;
  onCancelEdit?: (() => void) | undefined;
}

/** One message of the transcript: text, tool calls and tool results, with its status. */
export const MessageItem = memo(function MessageItem({
  message,
  toolCalls,
  onRegenerate,
  regenerating,
  onEdit,
  editDisabled = false,
  editing = false,
  onSaveEdit,
  onCancelEdit,
}: Props) {
  const sending = isOptimistic(message);
  const status = sending ? 'sending' : message.status;
  const streaming = message.status === 'streaming';
  const note = STATUS_NOTE[message.status];
  const hasText = message.parts.some((p) => p.type === 'text' && p.text.length > 0);
  const editable = onEdit !== undefined && !sending && message.role === 'user';

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
        {editable && !editing ? (
          <button
            type="button"
            className="message-edit-button"
            data-testid="edit-message"
            disabled={editDisabled}
            title={editDisabled ? 'Wait for the reply to finish' : 'Edit this message (starts a new branch)'}
            onClick={() => onEdit?.(message.id)}
          >
            ✎ Edit
          </button>
        ) : null}
        <span className="message-role">{ROLE_LABEL[message.role]}</span>
        <time dateTime={message.createdAt.toISOString()}>{clockTime(message.createdAt)}</time>
        {sending ? <span className="message-flag">sending…</span> : null}
      </div>
      {editing && onSaveEdit && onCancelEdit ? (
        <MessageEditor
          initial={textOfParts(message.parts)}
          disabled={editDisabled}
          onSave={(content) => onSaveEdit(message.id, content)}
          onCancel={onCancelEdit}
        />
      ) : (
        <div className="message-body">
          {message.parts.map((part, i) => {
            switch (part.type) {
              case 'text':
                return part.text ? (
                  <div key={i} className="message-text" data-testid="message-text">
                    {part.text}
                  </div>
                ) : null;
              case 'tool-call':
                return <ToolCallView key={part.toolCallId} part={part} call={toolCalls.get(part.toolCallId)} />;
              case 'tool-result':
                return <ToolResultView key={part.toolCallId} part={part} />;
              default:
                return null;
            }
          })}
          {streaming ? <TypingDots label={hasText ? 'still writing' : 'thinking'} /> : null}
          {note ? (
            <div className={`message-note note-${message.status}`} data-testid="message-note">
              {note}
            </div>
          ) : null}
        </div>
      )}
      {onRegenerate ? (
        <div className="message-actions">
          <button
            type="button"
            className="button button-small button-ghost"
            data-testid="regenerate"
            disabled={regenerating}
            onClick={onRegenerate}
          >
            ↻ Regenerate
          </button>
        </div>
      ) : null}
    </article>
  );
});
