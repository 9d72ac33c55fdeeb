import type { ContextAggregate } from '@chat/core';

/** The state object clients render (DESIGN §9 `context.state`). */
export function stateView(a: ContextAggregate) {
  const state = a.state;
  return {
    state,
    version: a.context.version,
    lastEventSeq: a.context.lastEventSeq,
    lastError: a.context.lastError,
    activeRun: a.activeRun ? { ...a.activeRun } : null,
    queue: a.queue.map((r) => ({ ...r })),
    pendingToolCalls: state.type === 'AwaitingToolApproval' ? state.pendingToolCalls : [],
  };
}
