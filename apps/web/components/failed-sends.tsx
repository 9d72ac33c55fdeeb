'use client';

import type { FailedSend, Outgoing } from '@/hooks/use-send-message';

const PREVIEW = 200;

/** Messages the server refused or never got: visible, with Retry (same ids) and Dismiss. */
export function FailedSends({
  failed,
  onRetry,
  onDismiss,
}: {
  failed: FailedSend[];
  onRetry: (outgoing: Outgoing) => void;
  onDismiss: (clientMessageId: string) => void;
}) {
  if (failed.length === 0) return null;
  return (
    <div className="failed-sends">
      {failed.map(({ outgoing, error, retriable }) => (
        <div key={outgoing.clientMessageId} className="banner banner-error" role="alert" data-testid="send-error">
          <div className="banner-text">
            <strong>{outgoing.editOfMessageId ? 'Edit not sent:' : 'Not sent:'}</strong>{' '}
            <span className="failed-content">
              {outgoing.content.length > PREVIEW ? `${outgoing.content.slice(0, PREVIEW)}…` : outgoing.content}
            </span>
            <div className="banner-detail" data-testid="send-error-detail">
              {error}
            </div>
          </div>
          <div className="banner-actions">
            {retriable ? (
              <button type="button" className="button button-small button-secondary" data-testid="retry-send" onClick={() => onRetry(outgoing)}>
                Retry
              </button>
            ) : null}
            <button type="button" className="button button-small button-ghost" data-testid="dismiss-send-error" onClick={() => onDismiss(outgoing.clientMessageId)}>
              Dismiss
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}
