'use client';

import { prettyJson } from '@/lib/format';
import type { MessagePart, ToolCall } from '@/lib/types';

type ToolCallPart = Extract<MessagePart, { type: 'tool-call' }>;
type ToolResultPart = Extract<MessagePart, { type: 'tool-result' }>;

const STATUS_LABEL: Record<string, string> = {
  pending_approval: 'awaiting approval',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  running: 'running…',
  succeeded: 'succeeded',
  failed: 'failed',
};

export const toolStatusLabel = (status: string) => STATUS_LABEL[status] ?? status;

/** A tool call the model asked for: name, arguments and the call's current status. */
export function ToolCallView({ part, call }: { part: ToolCallPart; call: ToolCall | undefined }) {
  const status = call?.status;
  return (
    <div className="tool-box tool-call" data-testid="tool-call" data-tool-name={part.toolName} data-status={status ?? ''}>
      <div className="tool-head">
        <span className="tool-icon" aria-hidden>
          ⚙
        </span>
        <span className="tool-name">{part.toolName}</span>
        {status ? <span className={`tool-status tool-status-${status}`}>{toolStatusLabel(status)}</span> : null}
      </div>
      {status === 'pending_approval' ? (
        // The approval panel above the composer shows the arguments: one copy on screen.
        <div className="tool-reason" data-testid="tool-call-waiting">
          Waiting for your approval below.
        </div>
      ) : (
        <pre className="tool-json">{prettyJson(part.args)}</pre>
      )}
      {call?.reason && (status === 'denied' || status === 'expired') ? (
        <div className="tool-reason">Reason: {call.reason}</div>
      ) : null}
    </div>
  );
}

/** A tool's outcome as the model received it (succeeded, failed, denied or expired). */
export function ToolResultView({ part }: { part: ToolResultPart }) {
  return (
    <div
      className={`tool-box tool-result tool-result-${part.status}`}
      data-testid="tool-result"
      data-tool-name={part.toolName}
      data-status={part.status}
    >
      <div className="tool-head">
        <span className="tool-icon" aria-hidden>
          ↳
        </span>
        <span className="tool-name">{part.toolName}</span>
        <span className={`tool-status tool-status-${part.status}`}>{toolStatusLabel(part.status)}</span>
      </div>
      <pre className="tool-json">{prettyJson(part.result)}</pre>
    </div>
  );
}
