'use client';

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { errorInfo } from '@/lib/errors';
import { clockTime } from '@/lib/format';
import { newId } from '@/lib/ids';
import { useTRPC, useTRPCClient } from '@/lib/trpc';
import type { ContextDetail } from '@/lib/types';
import { toolStatusLabel } from './tool-parts';

const RUN_PAGE = 20;
const EVENT_PAGE = 50;

/**
 * One chat's settings and history: its model (from `system.models`), its
 * system prompt, its runs (status, attempts, timings, tool calls) and its
 * event log, a page at a time.
 */
export function ChatSettings({ detail, onClose }: { detail: ContextDetail; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { context } = detail;
  const models = useQuery(trpc.system.models.queryOptions());
  const [prompt, setPrompt] = useState(context.systemPrompt ?? '');
  const update = useMutation(
    trpc.context.update.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries(trpc.context.get.queryFilter({ contextId: context.id }));
        void queryClient.invalidateQueries(trpc.context.list.pathFilter());
      },
    }),
  );
  const choices = [...new Set([...(models.data?.models ?? []), context.model])];

  return (
    <aside className="chat-settings" data-testid="chat-settings" aria-label="Chat settings">
      <div className="chat-settings-head">
        <h2>This chat</h2>
        <button type="button" className="button button-small button-ghost" data-testid="close-settings" onClick={onClose}>
          Close
        </button>
      </div>

      <label className="field">
        <span>Model</span>
        <select
          className="input"
          data-testid="model-picker"
          value={context.model}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ contextId: context.id, model: e.target.value, idempotencyKey: newId() })}
        >
          {choices.map((m) => (
            <option key={m} value={m}>
              {m}
              {m === models.data?.default ? ' (default)' : ''}
            </option>
          ))}
        </select>
      </label>

      <form
        className="field"
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ contextId: context.id, systemPrompt: prompt.trim() ? prompt : null, idempotencyKey: newId() });
        }}
      >
        <label htmlFor="system-prompt">System prompt</label>
        <textarea
          id="system-prompt"
          className="input"
          data-testid="system-prompt"
          rows={4}
          maxLength={20_000}
          placeholder="How the assistant should behave in this chat"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
        />
        <div className="chat-settings-row">
          <button type="submit" className="button button-small button-primary" data-testid="save-system-prompt" disabled={update.isPending || prompt === (context.systemPrompt ?? '')}>
            Save prompt
          </button>
          {update.isSuccess ? <span className="field-hint" data-testid="settings-saved">Saved</span> : null}
        </div>
      </form>
      {update.error ? (
        <p className="inline-error" role="alert">
          {errorInfo(update.error).message}
        </p>
      ) : null}

      <RunTimeline detail={detail} />
      <EventLog contextId={context.id} lastSeq={detail.context.lastEventSeq} />
    </aside>
  );
}

const duration = (from: Date | null, to: Date | null) => {
  if (!from) return '';
  const ms = (to ?? new Date()).getTime() - from.getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
};

function RunTimeline({ detail }: { detail: ContextDetail }) {
  const trpc = useTRPC();
  const [limit, setLimit] = useState(RUN_PAGE);
  const runs = useQuery(trpc.run.list.queryOptions({ contextId: detail.context.id, limit }));
  // The list follows the chat: read again when its latest run changes.
  const latest = `${detail.latestRun?.id}:${detail.latestRun?.status}`;
  const { refetch } = runs;
  useEffect(() => {
    void refetch();
  }, [latest, refetch]);
  const toolCallsByRun = new Map<string, ContextDetail['toolCalls']>();
  for (const t of detail.toolCalls) toolCallsByRun.set(t.runId, [...(toolCallsByRun.get(t.runId) ?? []), t]);
  return (
    <section className="timeline" aria-label="Runs">
      <h3>Runs</h3>
      {runs.isPending ? <p className="field-hint">Loading…</p> : null}
      {runs.data?.length === 0 ? <p className="field-hint">No runs yet.</p> : null}
      <ol className="timeline-list" data-testid="run-list">
        {runs.data?.map((run) => (
          <li key={run.id} className={`timeline-run run-${run.status}`} data-testid="run-item" data-status={run.status}>
            <div className="timeline-run-head">
              <span className={`tool-status run-status-${run.status}`}>{run.status.replace('_', ' ')}</span>
              <span>{clockTime(run.createdAt)}</span>
              {run.attempt > 1 ? <span data-testid="run-attempts">attempt {run.attempt}</span> : null}
              <span className="field-hint">
                {run.startedAt ? `queued ${duration(run.createdAt, run.startedAt)}, ran ${duration(run.startedAt, run.completedAt)}` : 'waiting'}
              </span>
            </div>
            {run.error ? <div className="inline-error">{run.error.message}</div> : null}
            {(toolCallsByRun.get(run.id) ?? []).map((t) => (
              <div key={t.id} className="timeline-tool">
                ⚙ {t.name} — {toolStatusLabel(t.status)}
              </div>
            ))}
          </li>
        ))}
      </ol>
      {runs.data && runs.data.length >= limit && limit < 200 ? (
        <button type="button" className="button button-small button-ghost" data-testid="more-runs" onClick={() => setLimit((l) => Math.min(200, l + RUN_PAGE))}>
          More runs
        </button>
      ) : null}
    </section>
  );
}

function EventLog({ contextId, lastSeq }: { contextId: string; lastSeq: number }) {
  const client = useTRPCClient();
  // events.list pages forward by afterSeq (not a tRPC `cursor`), so the infinite query is built by hand.
  const events = useInfiniteQuery({
    queryKey: ['event-log', contextId],
    queryFn: ({ pageParam }) => client.events.list.query({ contextId, afterSeq: pageParam, limit: EVENT_PAGE }),
    initialPageParam: 0,
    getNextPageParam: (page) => {
      const last = page.events.at(-1)?.seq;
      return last !== undefined && page.events.length === EVENT_PAGE ? last : undefined;
    },
  });
  // The log follows the chat: read again (every loaded page) when new events were stored.
  const { refetch } = events;
  useEffect(() => {
    void refetch();
  }, [lastSeq, refetch]);
  const items = events.data?.pages.flatMap((p) => p.events) ?? [];
  return (
    <section className="timeline" aria-label="Event log">
      <h3>
        Event log <span className="field-hint">({lastSeq} events)</span>
      </h3>
      <ol className="event-list" data-testid="event-list">
        {items.map((e) => (
          <li key={e.seq} data-testid="event-item">
            <span className="event-seq">#{e.seq}</span> <span className="event-type">{e.type}</span>{' '}
            <span className="field-hint">{clockTime(e.createdAt)}</span>
            <details className="event-payload">
              <summary>payload</summary>
              <pre>{JSON.stringify(e.payload, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ol>
      {events.hasNextPage ? (
        <button type="button" className="button button-small button-ghost" data-testid="more-events" disabled={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
          {events.isFetchingNextPage ? 'Loading…' : 'More events'}
        </button>
      ) : null}
    </section>
  );
}
