import type { BranchRecord } from '@chat/core';

/**
 * A branch's transcript is its lineage segments, newest first: its own
 * messages, then those of the branch it forked from up to the fork point, and
 * so on to the root. A segment holds the messages of one branch with
 * `seq <= maxSeq` (all of them for the branch itself), minus its queued
 * questions (off the path until their run starts). Segments never overlap:
 * a branch's messages were all created after its fork point (seq grows).
 */
export interface Segment {
  branchId: string;
  /** The fork point's seq in this branch; null for the branch itself. */
  maxSeq: number | null;
  /** The next (older) segment's maxSeq: this segment holds only seqs above it. */
  minSeq: number | null;
}

/** Where a branch forked: the branch and seq of the message its first new message follows (null from the root). */
export type ForkPoint = { branchId: string; seq: number } | null;

/** A context's branches, with the fork point of each (what its lineage is made of). */
export interface BranchTree {
  branches: BranchRecord[];
  forkPoints: Map<string, ForkPoint>;
}

/** The lineage of `branchId`, newest segment first (a cycle, which the domain never writes, ends it). */
export function segmentsOf(tree: BranchTree, branchId: string): Segment[] {
  const segments: Segment[] = [];
  const seen = new Set<string>();
  let current: { branchId: string; maxSeq: number | null } | null = { branchId, maxSeq: null };
  while (current && !seen.has(current.branchId)) {
    seen.add(current.branchId);
    const fork: ForkPoint = tree.forkPoints.get(current.branchId) ?? null;
    segments.push({ ...current, minSeq: fork?.seq ?? null });
    current = fork ? { branchId: fork.branchId, maxSeq: fork.seq } : null;
  }
  return segments;
}
