'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useForkVariants } from '@/hooks/use-branch-paths';
import { useLiveContext } from '@/hooks/use-live-context';
import { useLoadEarlier } from '@/hooks/use-load-earlier';
import { useRunControls } from '@/hooks/use-run-controls';
import { useSendMessage } from '@/hooks/use-send-message';
import { useSwitchBranch } from '@/hooks/use-switch-branch';
import { activityOf, queuedMessageIds, streamingReply, visibleRunError } from '@/lib/activity';
import { editArrived, isOptimistic, withPendingEdit } from '@/lib/context-cache';
import { errorInfo } from '@/lib/errors';
import { useMessageLimit } from '@/lib/message-limit';
import type { ChatMessage } from '@/lib/types';
import { ApprovalPanel } from './approval-panel';
import { BranchSwitcher } from './branch-switcher';
import { ChatSettings } from './chat-settings';
import { Composer } from './composer';
import { DrawerButton } from './drawer';
import { FailedSends } from './failed-sends';
import type { VariantNav } from './message-item';
import { MessageList } from './message-list';
import { StatusBar } from './status-bar';

const DISMISSED_KEY = 'chat.dismissedRunErrors';

/** One open chat: transcript, live state, approvals and the composer. */
export function ChatView({ contextId }: { contextId: string }) {
  const { query, queryKey, connection, refresh, ensureFresh } = useLiveContext(contextId);
  const sender = useSendMessage(contextId, queryKey, refresh);
  const controls = useRunControls(contextId, refresh);
  const earlier = useLoadEarlier(contextId, queryKey);
  const branchSwitch = useSwitchBranch(contextId, queryKey, refresh);
  const maxChars = useMessageLimit();
  const variants = useForkVariants(query.data);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const title = query.data?.context.title;
  useEffect(() => {
    if (title) document.title = `${title} · Chat`;
  }, [title]);

  // Editing a user message: which one is open in the inline editor; the sent
  // edit shows optimistically (sender.pendingEdit) until its server copy arrives.
  const [editingId, setEditingId] = useState<string | null>(null);
  const [sentSignal, setSentSignal] = useState(0);
  const { edit, pendingEdit, send } = sender;
  const startEdit = useCallback((messageId: string) => setEditingId(messageId), []);
  const cancelEdit = useCallback(() => setEditingId(null), []);
  const saveEdit = useCallback(
    (messageId: string, content: string) => {
      setEditingId(null);
      edit(messageId, content);
      setSentSignal((n) => n + 1);
    },
    [edit],
  );
  const sendAndFollow = useCallback(
    (content: string) => {
      send(content);
      setSentSignal((n) => n + 1);
    },
    [send],
  );

  // Errors of failed runs the user dismissed (this tab).
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(() => new Set());
  useEffect(() => {
    try {
      setDismissed(new Set(JSON.parse(sessionStorage.getItem(DISMISSED_KEY) ?? '[]') as string[]));
    } catch {
      // nothing dismissed yet
    }
  }, []);
  const dismissRunError = useCallback((runId: string) => {
    setDismissed((old) => {
      const next = new Set(old).add(runId);
      try {
        sessionStorage.setItem(DISMISSED_KEY, JSON.stringify([...next].slice(-200)));
      } catch {
        // kept in memory only
      }
      return next;
    });
  }, []);

  const detail = query.data;
  const busy = detail ? detail.state.state.type !== 'Idle' : false;
  const activeRunId = detail && busy && 'runId' in detail.state.state ? detail.state.state.runId : undefined;
  const { stop } = controls;

  // Escape stops the running reply (unless it closes something else first: an editor, a field's own Escape).
  useEffect(() => {
    if (!busy) return;
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      const target = e.target as HTMLElement | null;
      const field = target?.closest('input, textarea, select, [contenteditable="true"]');
      if (field && field.getAttribute('data-testid') !== 'composer') return;
      e.preventDefault();
      stop(activeRunId);
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [busy, activeRunId, stop]);

  const queued = useMemo(() => (detail ? queuedMessageIds(detail) : new Set<string>()), [detail]);
  const runError = detail ? visibleRunError(detail, dismissed) : null;
  const forkLocked =
    busy ||
    (pendingEdit !== null && detail !== undefined && !editArrived(detail, pendingEdit)) ||
    branchSwitch.target !== undefined;
  const { switchTo } = branchSwitch;
  const variantsOf = useCallback(
    (message: ChatMessage): VariantNav | undefined => {
      const v = isOptimistic(message) ? undefined : variants.get(message.id);
      if (!v) return undefined;
      return {
        index: v.index,
        count: v.count,
        disabled: forkLocked,
        onPrevious: () => v.index > 1 && switchTo(v.branchIds[v.index - 2]!),
        onNext: () => v.index < v.count && switchTo(v.branchIds[v.index]!),
      };
    },
    [variants, forkLocked, switchTo],
  );
  const runErrorFor = useCallback(
    (message: ChatMessage) => {
      if (!runError) return undefined;
      const here = runError.messageId ? message.id === runError.messageId : message.id === runError.triggerMessageId;
      return here ? { message: runError.message, onDismiss: () => dismissRunError(runError.runId) } : undefined;
    },
    [runError, dismissRunError],
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
  if (detail === undefined || gone) {
    const info = errorInfo(query.error);
    return (
      <div className="empty-state">
        <h1>{info.code === 'NOT_FOUND' ? 'Chat not found' : 'Could not load this chat'}</h1>
        <p>{info.code === 'NOT_FOUND' ? 'It may have been deleted.' : info.message}</p>
        <p>
          <Link href="/">Start a new chat</Link>
        </p>
      </div>
    );
  }

  const { context, state } = detail;
  const activity = activityOf(detail);
  const controlError = controls.stopError ?? controls.regenerateError ?? earlier.error ?? branchSwitch.error;
  // A switch asked for here, or one the server announced whose messages are not fetched yet.
  const announced = context.activeBranchId ?? undefined;
  const switchingTo = branchSwitch.target ?? (detail.branch && announced !== detail.branch.id ? announced : undefined);
  const shown = withPendingEdit(detail, pendingEdit);
  const replyStarted = streamingReply(detail.messages, activeRunId) !== undefined;
  const waitingLabel = activity.kind === 'thinking' && !replyStarted ? 'Thinking…' : null;
  // A run that failed without a reply message: its error goes under the question, or here if that is not shown.
  const runErrorShown = runError !== null && shown.messages.some((m) => m.id === (runError.messageId ?? runError.triggerMessageId));

  return (
    <section className="chat" data-context-id={context.id} data-testid="chat">
      <header className="chat-header">
        <div className="chat-header-start">
          <DrawerButton />
          <div className="chat-heading">
            <h1 className="chat-title" data-testid="chat-title">
              {context.title}
            </h1>
            <div className="chat-subtitle-row">
              <span className="chat-subtitle" data-testid="chat-model">
                {context.model}
              </span>
              {detail.branches.length > 1 ? (
                <BranchSwitcher
                  branches={detail.branches}
                  activeId={detail.branch?.id}
                  switchingTo={switchingTo}
                  disabled={forkLocked}
                  onSwitch={branchSwitch.switchTo}
                />
              ) : null}
            </div>
          </div>
        </div>
        <div className="chat-header-end">
          <StatusBar stateType={state.state.type} activity={activity} queued={state.queue.length} connection={connection} />
          <button
            type="button"
            className="button button-small button-ghost"
            data-testid="open-settings"
            aria-expanded={settingsOpen}
            onClick={() => setSettingsOpen((open) => !open)}
          >
            ⚙ Chat
          </button>
        </div>
      </header>

      <div className="chat-body">
        <MessageList
          detail={shown}
          onLoadEarlier={earlier.mutate}
          loadingEarlier={earlier.isPending}
          onRegenerate={controls.regenerate}
          forkDisabled={forkLocked}
          editingMessageId={editingId}
          onEdit={startEdit}
          onSaveEdit={saveEdit}
          onCancelEdit={cancelEdit}
          sentSignal={sentSignal}
          variantsOf={variantsOf}
          runErrorFor={runErrorFor}
          queuedIds={queued}
          waitingLabel={waitingLabel}
        />
        {settingsOpen ? <ChatSettings detail={detail} onClose={() => setSettingsOpen(false)} /> : null}
      </div>

      <footer className="chat-footer">
        {query.isError ? (
          <div className="banner banner-warn" role="status" data-testid="refresh-error">
            <div className="banner-text">Could not refresh this chat: {errorInfo(query.error).message}. Retrying…</div>
          </div>
        ) : null}
        {runError && !runErrorShown ? (
          <div className="banner banner-error" role="alert" data-testid="last-error">
            <div className="banner-text">
              <strong>The last reply failed:</strong> {runError.message}
            </div>
            <button type="button" className="button button-small button-ghost" data-testid="dismiss-run-error" onClick={() => dismissRunError(runError.runId)}>
              Dismiss
            </button>
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
          onSend={sendAndFollow}
          busy={busy}
          queues={context.busyPolicy === 'queue'}
          onStop={() => stop(activeRunId)}
          stopping={controls.stopping}
          maxChars={maxChars}
        />
      </footer>
    </section>
  );
}
