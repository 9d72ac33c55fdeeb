'use client';

import type { ConnectionState } from '@/hooks/use-live-context';
import type { StateView } from '@/lib/types';

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const STATE_LABEL: Record<StateView['state']['type'], string> = {
  Idle: 'Ready',
  ProcessingUserMessage: 'Thinking…',
  AwaitingToolApproval: 'Waiting for your approval',
  ExecutingTools: 'Running tools',
};

/** The server's FSM state, the queue and the live connection, as the server reports them. */
export function StatusBar({ state, connection }: { state: StateView; connection: ConnectionState }) {
  const type = state.state.type;
  const queued = state.queue.length;
  return (
    <div className="status-bar">
      <span className={`pill state-${type}`} data-testid="context-state" data-state={type} title="Context state">
        {type === 'AwaitingToolApproval' ? <span className="attention" aria-hidden /> : null}
        {type === 'ProcessingUserMessage' || type === 'ExecutingTools' ? <span className="spinner" aria-hidden /> : null}
        {STATE_LABEL[type]}
      </span>
      {queued > 0 ? (
        <span className="pill pill-muted" data-testid="queue-count" data-count={queued}>
          {queued} queued
        </span>
      ) : null}
      <span
        className={`pill connection connection-${connection}`}
        data-testid="connection-state"
        data-state={connection}
        title="Live updates"
      >
        <span className="dot" aria-hidden />
        {CONNECTION_LABEL[connection]}
      </span>
    </div>
  );
}
