import type { ChatMessage } from './types';

/** The versions of one message where the transcript forks, and the branch that shows each. */
export interface Variants {
  /** 1-based position of the shown version. */
  index: number;
  count: number;
  /** For each version, in creation order: the branch to switch to to see it. */
  branchIds: string[];
}

/**
 * Where the transcript forks: an edit or a regenerate makes a sibling of a
 * message (same parent, same role) on a new branch. From the paths of the
 * chat's branches (the active one as shown, the others as fetched), every
 * message of the active path with siblings gets its versions in creation
 * order and, for each, the branch that shows it: the active branch for the
 * one shown, else the branch the version was written on (or another whose
 * path holds it).
 */
export function forkVariants(activeBranchId: string, activePath: readonly ChatMessage[], otherPaths: ReadonlyMap<string, readonly ChatMessage[]>) {
  const holders = new Map<string, string[]>();
  const byId = new Map<string, ChatMessage>();
  const add = (branchId: string, path: readonly ChatMessage[]) => {
    for (const m of path) {
      if (!byId.has(m.id)) byId.set(m.id, m);
      const list = holders.get(m.id) ?? [];
      if (!list.includes(branchId)) list.push(branchId);
      holders.set(m.id, list);
    }
  };
  add(activeBranchId, activePath);
  for (const [branchId, path] of otherPaths) add(branchId, path);

  const children = new Map<string, ChatMessage[]>();
  for (const m of byId.values()) {
    const key = `${m.parentId ?? ''}:${m.role}`;
    children.set(key, [...(children.get(key) ?? []), m]);
  }

  const result = new Map<string, Variants>();
  for (const m of activePath) {
    const siblings = (children.get(`${m.parentId ?? ''}:${m.role}`) ?? []).sort((a, b) => a.seq - b.seq);
    if (siblings.length < 2) continue;
    const branchIds = siblings.map((s) => {
      const held = holders.get(s.id) ?? [];
      if (held.includes(activeBranchId) && s.id === m.id) return activeBranchId;
      if (held.includes(s.branchId)) return s.branchId;
      return held.at(-1)!;
    });
    result.set(m.id, { index: siblings.findIndex((s) => s.id === m.id) + 1, count: siblings.length, branchIds });
  }
  return result;
}
