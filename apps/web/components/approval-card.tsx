'use client';

import { useState } from 'react';
import { prettyJson } from '@/lib/format';
import type { PendingToolCall } from '@/lib/types';

export type CardPhase = { kind: 'idle' } | { kind: 'sending'; approve: boolean } | { kind: 'failed'; error: string };

interface Props {
  call: PendingToolCall;
  phase: CardPhase;
  onDecide: (approve: boolean, reason?: string) => void;
}

/** One tool call waiting for the user's decision. */
export function ApprovalCard({ call, phase, onDecide }: Props) {
  const [denying, setDenying] = useState(false);
  const [reason, setReason] = useState('');
  const sending = phase.kind === 'sending';

  return (
    <div className={`approval-card${sending ? ' approval-sending' : ''}`} data-testid="approval-card" data-tool-name={call.name} data-tool-call-id={call.id}>
      <div className="approval-head">
        <span className="approval-title">
          The assistant wants to run <strong className="tool-name">{call.name}</strong>
        </span>
        {sending ? (
          <span className="approval-status" data-testid="approval-status" data-decision={phase.approve ? 'approved' : 'denied'}>
            {phase.approve ? 'Approved…' : 'Denied…'}
          </span>
        ) : null}
      </div>
      {phase.kind === 'failed' ? (
        <p className="inline-error" role="alert">
          {phase.error}
        </p>
      ) : null}
      {denying && !sending ? (
        <form
          className="deny-form"
          onSubmit={(e) => {
            e.preventDefault();
            onDecide(false, reason.trim() || undefined);
          }}
        >
          <input
            className="input"
            data-testid="deny-reason"
            placeholder="Reason (optional)"
            value={reason}
            maxLength={2000}
            autoFocus
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="submit" className="button button-danger" data-testid="confirm-deny">
            Deny
          </button>
          <button type="button" className="button button-ghost" onClick={() => setDenying(false)}>
            Back
          </button>
        </form>
      ) : (
        <div className="approval-actions">
          <button
            type="button"
            className="button button-primary"
            data-testid="approve"
            disabled={sending}
            onClick={() => onDecide(true)}
          >
            Approve
          </button>
          <button
            type="button"
            className="button button-secondary"
            data-testid="deny"
            disabled={sending}
            onClick={() => setDenying(true)}
          >
            Deny
          </button>
        </div>
      )}
      {/* The decision first, the arguments under it: in the bounded panel a card's buttons are seen before its JSON scrolls. */}
      <pre className="tool-json">{prettyJson(call.args)}</pre>
    </div>
  );
}
