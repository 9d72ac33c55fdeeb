'use client';

import { useRef, useState, type KeyboardEvent } from 'react';

interface Props {
  onSend: (content: string) => void;
  busy: boolean;
  /** The context queues messages sent while busy (busyPolicy `queue`) rather than refusing them. */
  queues: boolean;
  onStop: () => void;
  stopping: boolean;
}

/** The message box: Enter sends, Shift+Enter is a new line. Sending while busy queues the message. */
export function Composer({ onSend, busy, queues, onStop, stopping }: Props) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const canSend = text.trim().length > 0;

  const submit = () => {
    if (!canSend) return;
    onSend(text);
    setText('');
    box.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <textarea
        ref={box}
        className="composer-input"
        data-testid="composer"
        placeholder={busy ? (queues ? 'Type a message — it will be queued…' : 'Wait for the reply to finish…') : 'Type a message…'}
        aria-label="Message"
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        {busy ? (
          <button type="button" className="button button-secondary" data-testid="stop" disabled={stopping} onClick={onStop}>
            <span className="stop-icon" aria-hidden />
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        ) : null}
        <button type="submit" className="button button-primary" data-testid="send" disabled={!canSend}>
          Send
        </button>
      </div>
    </form>
  );
}
