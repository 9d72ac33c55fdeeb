'use client';

import type { ConnectionState } from '@/hooks/use-live-context';
import { useOnline } from '@/hooks/use-online';
import type { Activity } from '@/lib/activity';

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/**
 * What the chat is doing (the server's state, with "Thinking" before the
 * first token and "Writing" while text streams), the queued runs, and the
 * live connection: "Offline" when the browser is, whatever the stream says.
 */
export function StatusBar({ stateType, activity, queued, connection }: { stateType: string; activity: Activity; queued: number; connection: ConnectionState }) {
  const online = useOnline();
  const shown: ConnectionState = online ? connection : 'offline';
  return (
    <div className="status-bar">
      <span className={`pill activity-${activity.kind}`} data-testid="context-state" data-state={stateType} data-activity={activity.kind} title="What the assistant is doing">
        {activity.kind === 'approval' ? <span className="attention" aria-hidden /> : null}
        {activity.kind === 'thinking' || activity.kind === 'writing' || activity.kind === 'tools' ? <span className="spinner" aria-hidden /> : null}
        {activity.label}
      </span>
      {queued > 0 ? (
        <span className="pill pill-muted" data-testid="queue-count" data-count={queued}>
          {queued} queued
        </span>
      ) : null}
      <span className={`pill connection connection-${shown}`} data-testid="connection-state" data-state={shown} data-online={online} title="Live updates">
        <span className="dot" aria-hidden />
        {online ? CONNECTION_LABEL[connection] : 'Offline — no network'}
      </span>
    </div>
  );
}
