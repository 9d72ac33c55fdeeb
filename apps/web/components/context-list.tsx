'use client';

import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { errorInfo } from '@/lib/errors';
import { relativeTime } from '@/lib/format';
import { newId } from '@/lib/ids';
import { useTRPC } from '@/lib/trpc';
import type { ContextSummary } from '@/lib/types';

const PAGE = 30;
const SEARCH_DEBOUNCE_MS = 250;

/**
 * The sidebar list (`context.list`): every chat, a page at a time as the list
 * scrolls; a search over titles and message text (server-side); rename in
 * place and delete with a confirmation.
 */
export function ContextList() {
  const trpc = useTRPC();
  const [typed, setTyped] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setQuery(typed.trim()), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [typed]);

  const list = useInfiniteQuery(
    trpc.context.list.infiniteQueryOptions(
      { limit: PAGE, ...(query ? { query } : {}) },
      { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
    ),
  );
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];

  // Load the next page when its sentinel scrolls into view.
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  return (
    <>
      <div className="context-search">
        <input
          className="input"
          type="search"
          data-testid="chat-search"
          placeholder="Search chats"
          aria-label="Search chats"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setTyped('');
          }}
        />
      </div>
      {list.isPending ? (
        <p className="sidebar-note">Loading…</p>
      ) : list.isError && items.length === 0 ? (
        <p className="sidebar-error">Could not load chats: {errorInfo(list.error).message}</p>
      ) : items.length === 0 ? (
        <p className="sidebar-note" data-testid="chat-list-empty">
          {query ? `No chats match “${query}”.` : 'No chats yet.'}
        </p>
      ) : (
        <nav className="context-list" aria-label="Chats" data-testid="context-list" data-query={query} aria-busy={list.isFetching}>
          {items.map((context) => (
            <ContextItem key={context.id} context={context} />
          ))}
          {hasNextPage ? (
            <div ref={sentinel} className="context-list-more">
              <button type="button" className="button button-small button-ghost" data-testid="more-chats" disabled={isFetchingNextPage} onClick={() => void fetchNextPage()}>
                {isFetchingNextPage ? 'Loading…' : 'More chats'}
              </button>
            </div>
          ) : null}
        </nav>
      )}
    </>
  );
}

function ContextItem({ context }: { context: ContextSummary }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pathname = usePathname();
  const router = useRouter();
  const href = `/c/${encodeURIComponent(context.id)}`;
  const active = pathname === href;
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm-delete'>('view');
  const [title, setTitle] = useState(context.title);
  const refreshList = () => queryClient.invalidateQueries(trpc.context.list.pathFilter());

  const rename = useMutation(
    trpc.context.update.mutationOptions({
      onSuccess: () => {
        void refreshList();
        void queryClient.invalidateQueries(trpc.context.get.queryFilter({ contextId: context.id }));
      },
    }),
  );
  const remove = useMutation(
    trpc.context.delete.mutationOptions({
      onSuccess: () => {
        if (active) router.push('/');
        void refreshList();
      },
    }),
  );
  const shownTitle = rename.isPending && rename.variables?.title ? rename.variables.title : context.title || 'Untitled';

  const saveRename = () => {
    const next = title.trim();
    setMode('view');
    if (next && next !== context.title) rename.mutate({ contextId: context.id, title: next.slice(0, 200), idempotencyKey: newId() });
  };

  if (mode === 'rename') {
    return (
      <form
        className="context-item context-item-editing"
        data-testid="context-item"
        data-context-id={context.id}
        onSubmit={(e) => {
          e.preventDefault();
          saveRename();
        }}
      >
        <input
          className="input context-rename-input"
          data-testid="rename-input"
          aria-label="Chat title"
          value={title}
          maxLength={200}
          autoFocus
          onFocus={(e) => e.target.select()}
          onChange={(e) => setTitle(e.target.value)}
          onBlur={saveRename}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              setTitle(context.title);
              setMode('view');
            }
          }}
        />
      </form>
    );
  }

  return (
    <div className={active ? 'context-item active' : 'context-item'} data-testid="context-item" data-context-id={context.id}>
      <Link
        href={href}
        className={active ? 'context-link active' : 'context-link'}
        aria-current={active ? 'page' : undefined}
        data-testid="context-link"
        data-context-id={context.id}
      >
        <span className="context-title" data-testid="context-title">
          {shownTitle}
        </span>
        <span className="context-meta">
          {context.state.type !== 'Idle' ? <span className="dot busy" aria-label="busy" /> : null}
          {relativeTime(context.updatedAt)}
        </span>
      </Link>
      {mode === 'confirm-delete' ? (
        <div className="context-confirm" role="alertdialog" aria-label="Delete this chat?">
          <span>Delete?</span>
          <button type="button" className="button button-small button-danger" data-testid="confirm-delete" disabled={remove.isPending} onClick={() => remove.mutate({ contextId: context.id, idempotencyKey: newId() })}>
            {remove.isPending ? 'Deleting…' : 'Delete'}
          </button>
          <button type="button" className="button button-small button-ghost" data-testid="cancel-delete" onClick={() => setMode('view')}>
            Cancel
          </button>
        </div>
      ) : (
        <div className="context-actions">
          <button
            type="button"
            className="icon-button"
            data-testid="rename-chat"
            aria-label="Rename chat"
            title="Rename"
            onClick={() => {
              setTitle(context.title);
              setMode('rename');
            }}
          >
            ✎
          </button>
          <button type="button" className="icon-button" data-testid="delete-chat" aria-label="Delete chat" title="Delete" onClick={() => setMode('confirm-delete')}>
            {/* An SVG, not the emoji: without an emoji font it was an empty box. */}
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden>
              <path
                d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.2a1 1 0 0 0 1 .8h4.6a1 1 0 0 0 1-.8L12 4M6.8 6.5v5M9.2 6.5v5"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.3"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
          </button>
        </div>
      )}
      {rename.error || remove.error ? (
        <p className="sidebar-error" role="alert">
          {errorInfo(rename.error ?? remove.error).message}
        </p>
      ) : null}
    </div>
  );
}
