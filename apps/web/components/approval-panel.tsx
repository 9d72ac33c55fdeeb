'use client';

import type { QueryKey } from '@tanstack/react-query';
import { useState } from 'react';
import { useApproveTools, type Decision } from '@/hooks/use-approve-tools';
import { errorInfo } from '@/lib/errors';
import type { ContextDetail, StateView } from '@/lib/types';
import { ApprovalCard, type CardPhase } from './approval-card';

interface Props {
  contextId: string;
  queryKey: QueryKey;
  state: StateView;
  ensureFresh: () => Promise<ContextDetail | undefined>;
  onSettled: () => void;
}

/**
 * Approval cards for `AwaitingToolApproval`, in a panel docked above the
 * composer: bounded in height and scrollable, so however many calls wait the
 * transcript keeps most of the screen and the composer stays in view. The
 * transcript's tool boxes stay short while a call waits here (no second copy
 * of the arguments). A decision shows at once on its card ("Approved…"); the
 * card leaves when the server's state no longer lists the call (reconciled by
 * events), or shows the error and can be decided again.
 */
export function ApprovalPanel({ contextId, queryKey, state, ensureFresh, onSettled }: Props) {
  const approve = useApproveTools(contextId, queryKey, ensureFresh, onSettled);
  const [phases, setPhases] = useState<Record<string, CardPhase>>({});
  if (state.state.type !== 'AwaitingToolApproval') return null;
  const runId = state.state.runId;
  const pending = state.pendingToolCalls;
  if (pending.length === 0) return null;

  const decide = (decisions: Decision[]) => {
    setPhases((p) => ({ ...p, ...Object.fromEntries(decisions.map((d) => [d.toolCallId, { kind: 'sending', approve: d.approve }])) }));
    // mutateAsync, not mutate: each click gets its own outcome even when two overlap.
    approve
      .mutateAsync({ runId, decisions })
      .catch((error: unknown) => {
        const message = errorInfo(error).message;
        setPhases((p) => ({ ...p, ...Object.fromEntries(decisions.map((d) => [d.toolCallId, { kind: 'failed', error: message }])) }));
      });
  };
  const undecided = pending.filter((c) => (phases[c.id]?.kind ?? 'idle') !== 'sending');

  return (
    <section className="approval-panel" aria-label="Tool calls waiting for approval" data-testid="approval-panel">
      <div className="approval-panel-head">
        <span>
          {pending.length === 1 ? 'A tool call is waiting for your approval' : `${pending.length} tool calls are waiting for your approval`}
        </span>
        {undecided.length > 1 ? (
          <button
            type="button"
            className="button button-small button-secondary"
            data-testid="approve-all"
            onClick={() => decide(undecided.map((c) => ({ toolCallId: c.id, approve: true })))}
          >
            Approve all ({undecided.length})
          </button>
        ) : null}
      </div>
      <div className="approval-panel-cards">
        {pending.map((call) => (
          <ApprovalCard
            key={call.id}
            call={call}
            phase={phases[call.id] ?? { kind: 'idle' }}
            onDecide={(ok, reason) => decide([{ toolCallId: call.id, approve: ok, ...(reason ? { reason } : {}) }])}
          />
        ))}
      </div>
    </section>
  );
}
