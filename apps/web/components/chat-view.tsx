'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { useLiveContext } from '@/hooks/use-live-context';
import { useLoadEarlier } from '@/hooks/use-load-earlier';
import { useRunControls } from '@/hooks/use-run-controls';
import { useSendMessage } from '@/hooks/use-send-message';
import { useSwitchBranch } from '@/hooks/use-switch-branch';
import { editArrived, withPendingEdit } from '@/lib/context-cache';
import { errorInfo } from '@/lib/errors';
import { ApprovalPanel } from './approval-panel';
import { BranchSwitcher } from './branch-switcher';
import { Composer } from './composer';
import { FailedSends } from './failed-sends';
import { MessageList } from './message-list';
import { StatusBar } from './status-bar';

/** One open chat: transcript, live state, approvals and the composer. */
export function ChatView({ contextId }: { contextId: string }) {
  const { query, queryKey, connection, refresh, ensureFresh } = useLiveContext(contextId);
  const sender = useSendMessage(contextId, queryKey, refresh);
  const controls = useRunControls(contextId, refresh);
  const earlier = useLoadEarlier(contextId, queryKey);
  const branchSwitch = useSwitchBranch(contextId, queryKey, refresh);
  const title = query.data?.context.title;
  useEffect(() => {
    if (title) document.title = `${title} · Chat`;
  }, [title]);

  // Editing a user message: which one is open in the inline editor; the sent
  // edit shows optimistically (sender.pendingEdit) until its server copy arrives.
  const [editingId, setEditingId] = useState<string | null>(null);
  const { edit, pendingEdit } = sender;
  const startEdit = useCallback((messageId: string) => setEditingId(messageId), []);
  const cancelEdit = useCallback(() => setEditingId(null), []);
  const saveEdit = useCallback(
    (messageId: string, content: string) => {
      setEditingId(null);
      edit(messageId, content);
    },
    [edit],
  );

  if (query.isPending) {
    return (
      <div className="chat-loading" aria-busy>
        Loading chat…
      </div>
    );
  }
  // Deleted (e.g. from another tab) while open: the refetch says so.
  const gone = query.isError && errorInfo(query.error).appCode === 'CONTEXT_NOT_FOUND';
  if (query.data === undefined || gone) {
    const info = errorInfo(query.error);
    return (
      <div className="empty-state">
        <h1>{info.code === 'NOT_FOUND' ? 'Chat not found' : 'Could not load this chat'}</h1>
        <p>{info.code === 'NOT_FOUND' ? 'It may have been deleted.' : info.message}</p>
        <p>
          <Link href="/">Back to your chats</Link>
        </p>
      </div>
    );
  }

  const detail = query.data;
  const { context, state } = detail;
  const busy = state.state.type !== 'Idle';
  const activeRunId = busy && 'runId' in state.state ? state.state.runId : undefined;
  const controlError = controls.stopError ?? controls.regenerateError ?? earlier.error ?? branchSwitch.error;
  // A switch asked for here, or one the server announced whose messages are not fetched yet.
  const announced = context.activeBranchId ?? undefined;
  const switchingTo = branchSwitch.target ?? (detail.branch && announced !== detail.branch.id ? announced : undefined);
  const editSending = pendingEdit !== null && !editArrived(detail, pendingEdit);
  // Forking or switching while a reply runs would leave that reply streaming into a branch not shown.
  const branchLocked = busy || editSending || switchingTo !== undefined;
  const shown = withPendingEdit(detail, pendingEdit);

  return (
    <section className="chat" data-context-id={context.id}>
      <header className="chat-header">
        <div className="chat-heading">
          <h1 className="chat-title">{context.title}</h1>
          <div className="chat-subtitle-row">
            <span className="chat-subtitle">{context.model}</span>
            {detail.branches.length > 1 ? (
              <BranchSwitcher
                branches={detail.branches}
                activeId={detail.branch?.id}
                switchingTo={switchingTo}
                disabled={busy || editSending || branchSwitch.target !== undefined}
                onSwitch={branchSwitch.switchTo}
              />
            ) : null}
          </div>
        </div>
        <StatusBar state={state} connection={connection} />
      </header>

      <MessageList
        detail={shown}
        onLoadEarlier={() => earlier.mutate()}
        loadingEarlier={earlier.isPending}
        onRegenerate={controls.regenerate}
        regenerating={controls.regenerating}
        editingMessageId={editingId}
        editDisabled={branchLocked}
        onEdit={startEdit}
        onSaveEdit={saveEdit}
        onCancelEdit={cancelEdit}
      />

      <footer className="chat-footer">
        {query.isError ? (
          <div className="banner banner-warn" role="status" data-testid="refresh-error">
            <div className="banner-text">Could not refresh this chat: {errorInfo(query.error).message}. Retrying…</div>
          </div>
        ) : null}
        {state.lastError ? (
          <div className="banner banner-error" role="alert" data-testid="last-error">
            <div className="banner-text">
              <strong>Last run failed:</strong> {state.lastError.message}
            </div>
          </div>
        ) : null}
        {controlError ? (
          <div className="banner banner-error" role="alert" data-testid="control-error">
            <div className="banner-text">{errorInfo(controlError).message}</div>
          </div>
        ) : null}
        <ApprovalPanel contextId={contextId} queryKey={queryKey} state={state} ensureFresh={ensureFresh} onSettled={refresh} />
        <FailedSends failed={sender.failed} onRetry={sender.retry} onDismiss={sender.dismiss} />
        <Composer
          onSend={sender.send}
          busy={busy}
          queues={context.busyPolicy === 'queue'}
          onStop={() => controls.stop(activeRunId)}
          stopping={controls.stopping}
        />
      </footer>
    </section>
  );
}
