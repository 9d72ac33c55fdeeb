import { notFound } from '../errors.ts';
import type { ContextChanges } from '../events.ts';
import type { BusyPolicy, ContextMode } from '../records.ts';
import { queueOf } from '../view.ts';
import { cancel } from './runs.ts';
import { activeRun, assertLive, nowIso, type Tx } from './tx.ts';

// The chat itself: its settings, its owner, its active branch, its deletion.

export type ContextSettings = { title?: string; systemPrompt?: string | null; model?: string; mode?: ContextMode; busyPolicy?: BusyPolicy };

export function updateContext(tx: Tx, changes: ContextSettings) {
  assertLive(tx.view);
  const { context } = tx.view;
  const diff: ContextChanges = {};
  for (const [key, value] of Object.entries(changes) as [keyof ContextSettings, unknown][]) {
    if (value !== undefined && context[key] !== value) (diff as Record<string, unknown>)[key] = value;
  }
  if (Object.keys(diff).length > 0) tx.emit('context.updated', { changes: diff });
}

/** The chat now belongs to `ownerId` (a guest signed up or in): recorded like any change, so a replay agrees. */
export function transferContext(tx: Tx, ownerId: string) {
  if (tx.view.context.ownerId !== ownerId) tx.emit('context.updated', { changes: { ownerId } });
}

export function deleteContext(tx: Tx) {
  assertLive(tx.view);
  // Queued runs first: cancelling the active run would start the next one.
  for (const queued of queueOf(tx.view)) cancel(tx, queued.id);
  const active = activeRun(tx.view);
  if (active) cancel(tx, active.id);
  tx.emit('context.deleted', { deletedAt: nowIso(tx) });
}

export function switchBranch(tx: Tx, branchId: string) {
  assertLive(tx.view);
  if (!tx.view.branches.has(branchId)) throw notFound('branch', branchId);
  if (tx.view.context.activeBranchId !== branchId) tx.emit('branch.switched', { branchId });
}
