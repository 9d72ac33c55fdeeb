import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './types';
import { forkVariants } from './variants';

const msg = (id: string, parentId: string | null, role: 'user' | 'assistant', seq: number, branchId: string) =>
  ({ id, parentId, role, seq, branchId, parts: [], status: 'complete' }) as unknown as ChatMessage;

describe('fork variants: "< 2/3 >" where the transcript forks', () => {
  // main: u1 -> a1 -> u2 -> a2; b2 regenerated a2 (a2b); b3 regenerated a2b (a2c); b4 edited u1 (u1e -> a1e).
  const u1 = msg('u1', null, 'user', 1, 'main');
  const a1 = msg('a1', 'u1', 'assistant', 2, 'main');
  const u2 = msg('u2', 'a1', 'user', 3, 'main');
  const a2 = msg('a2', 'u2', 'assistant', 4, 'main');
  const a2b = msg('a2b', 'u2', 'assistant', 5, 'b2');
  const a2c = msg('a2c', 'u2', 'assistant', 6, 'b3');
  const u1e = msg('u1e', null, 'user', 7, 'b4');
  const a1e = msg('a1e', 'u1e', 'assistant', 8, 'b4');

  it('numbers the versions of a reply in creation order and names the branch of each', () => {
    const others = new Map([
      ['main', [u1, a1, u2, a2]],
      ['b2', [u1, a1, u2, a2b]],
      ['b4', [u1e, a1e]],
    ]);
    const v = forkVariants('b3', [u1, a1, u2, a2c], others);
    expect(v.get('a2c')).toEqual({ index: 3, count: 3, branchIds: ['main', 'b2', 'b3'] });
    expect(v.get('u1')).toEqual({ index: 1, count: 2, branchIds: ['b3', 'b4'] });
    expect(v.has('a1')).toBe(false);
    expect(v.has('u2')).toBe(false);
  });
  it('a single branch has no variants', () => {
    expect(forkVariants('main', [u1, a1], new Map()).size).toBe(0);
  });
});
