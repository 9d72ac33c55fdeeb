'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { errorInfo } from '@/lib/errors';
import { useTRPC } from '@/lib/trpc';
import { relativeTime } from '@/lib/format';

/** The sidebar list (`context.list`). */
export function ContextList() {
  const trpc = useTRPC();
  const pathname = usePathname();
  const list = useQuery(trpc.context.list.queryOptions({ limit: 100 }));

  if (list.isPending) return <p className="sidebar-note">Loading…</p>;
  if (list.isError) return <p className="sidebar-error">Could not load chats: {errorInfo(list.error).message}</p>;
  if (list.data.items.length === 0) return <p className="sidebar-note">No chats yet.</p>;

  return (
    <nav className="context-list" aria-label="Chats">
      {list.data.items.map((context) => {
        const href = `/c/${encodeURIComponent(context.id)}`;
        const active = pathname === href;
        return (
          <Link
            key={context.id}
            href={href}
            className={active ? 'context-link active' : 'context-link'}
            aria-current={active ? 'page' : undefined}
            data-testid="context-link"
            data-context-id={context.id}
          >
            <span className="context-title">{context.title || 'Untitled'}</span>
            <span className="context-meta">
              {context.state.type !== 'Idle' ? <span className="dot busy" aria-label="busy" /> : null}
              {relativeTime(context.updatedAt)}
            </span>
          </Link>
        );
      })}
    </nav>
  );
}
