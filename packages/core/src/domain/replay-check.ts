import type { ContextView } from './view.ts';

/**
 * Compares a context as stored with the same context rebuilt from its event
 * log. Infrastructure columns are left out: `version` (bumped per save, not
 * per event), `updatedAt`, and run leases (they are not events).
 */
export function normalizeView(view: ContextView) {
  const { version: _v, updatedAt: _u, ...context } = view.context;
  const byId = <T extends { id: string }>(rows: Iterable<T>) => [...rows].sort((a, b) => a.id.localeCompare(b.id));
  return {
    context,
    branches: byId(view.branches.values()),
    messages: byId(view.messages.values()),
    runs: byId(view.runs.values()).map(({ leaseOwner: _o, leaseExpiresAt: _e, ...run }) => run),
    toolCalls: byId(view.toolCalls.values()),
  };
}

/** Human-readable differences (path: stored vs rebuilt); empty when they agree. */
export function diffViews(stored: ContextView, rebuilt: ContextView): string[] {
  const diffs: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (a instanceof Date || b instanceof Date) {
      const ta = a instanceof Date ? a.getTime() : a;
      const tb = b instanceof Date ? b.getTime() : b;
      if (ta !== tb) diffs.push(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
      return;
    }
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const key of keys) walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      return;
    }
    if (!Object.is(a ?? null, b ?? null)) diffs.push(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
  };
  walk(normalizeView(stored), normalizeView(rebuilt), 'context');
  return diffs;
}
