'use client';

import { useRef, useState, type KeyboardEvent } from 'react';

/** From this many characters on, the composer counts them (the server's limit is far above). */
const COUNT_FROM = 2_000;

interface Props {
  onSend: (content: string) => void;
  busy: boolean;
  /** The context queues messages sent while busy (busyPolicy `queue`) rather than refusing them. */
  queues: boolean;
  onStop?: (() => void) | undefined;
  stopping?: boolean;
  /** The server's message limit, once known (a MESSAGE_TOO_LONG answer states it). */
  maxChars?: number | undefined;
  placeholder?: string;
  disabled?: boolean;
}

/** The message box: Enter sends, Shift+Enter is a new line. Sending while busy queues the message. */
export function Composer({ onSend, busy, queues, onStop, stopping = false, maxChars, placeholder, disabled = false }: Props) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const tooLong = maxChars !== undefined && text.length > maxChars;
  const canSend = text.trim().length > 0 && !tooLong && !disabled;

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
  const showCount = text.length >= COUNT_FROM || tooLong;

  return (
    <form
      className={`composer${tooLong ? ' composer-too-long' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="composer-field">
        <textarea
          ref={box}
          className="composer-input"
          data-testid="composer"
          placeholder={placeholder ?? (busy ? (queues ? 'Type a message — it will be queued…' : 'Wait for the reply to finish…') : 'Type a message…')}
          aria-label="Message"
          aria-invalid={tooLong || undefined}
          rows={Math.min(8, Math.max(1, text.split('\n', 9).length))}
          value={text}
          autoFocus
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {showCount ? (
          <div className="composer-count" data-testid="char-count" data-too-long={tooLong || undefined} aria-live="polite">
            {text.length.toLocaleString('en-US')}
            {maxChars !== undefined ? ` / ${maxChars.toLocaleString('en-US')}` : ''} characters
            {tooLong ? ` — ${(text.length - maxChars).toLocaleString('en-US')} over the limit` : ''}
          </div>
        ) : null}
      </div>
      <div className="composer-actions">
        {busy && onStop ? (
          <button type="button" className="button button-secondary" data-testid="stop" disabled={stopping} onClick={onStop} title="Stop (Esc)">
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
