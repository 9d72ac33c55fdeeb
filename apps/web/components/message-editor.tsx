'use client';

import { useEffect, useRef, useState, type KeyboardEvent } from 'react';

interface Props {
  initial: string;
  /** Saving is not possible right now (a reply is running). */
  disabled: boolean;
  onSave: (content: string) => void;
  onCancel: () => void;
}

/**
 * Inline editor of a user message. Enter saves, Shift+Enter is a new line,
 * Escape cancels. Saving sends the new text as an edit: the server forks a
 * branch, and the original stays reachable from the branch switcher.
 */
export function MessageEditor({ initial, disabled, onSave, onCancel }: Props) {
  const [text, setText] = useState(initial);
  const box = useRef<HTMLTextAreaElement>(null);
  const canSave = !disabled && text.trim().length > 0 && text !== initial;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  const save = () => {
    if (canSave) onSave(text);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      save();
    }
  };

  return (
    <form
      className="message-editor"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <textarea
        ref={box}
        className="message-editor-input"
        data-testid="edit-composer"
        aria-label="Edit message"
        rows={Math.min(10, Math.max(2, text.split('\n').length))}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="message-editor-footer">
        <span className="message-editor-hint">
          {disabled ? 'Wait for the reply to finish…' : 'Saving starts a new branch; the original stays in the branch list.'}
        </span>
        <div className="message-editor-actions">
          <button type="button" className="button button-small button-ghost" data-testid="cancel-edit" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-small button-primary" data-testid="save-edit" disabled={!canSave}>
            Save &amp; send
          </button>
        </div>
      </div>
    </form>
  );
}
