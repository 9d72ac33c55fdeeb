'use client';

import type { Branch } from '@/lib/types';

interface Props {
  branches: readonly Branch[];
  /** The branch the transcript shows. */
  activeId: string | undefined;
  /** A switch on its way (asked for here, or announced by the server and not fetched yet). */
  switchingTo: string | undefined;
  disabled: boolean;
  onSwitch: (branchId: string) => void;
}

/**
 * The chat's branches (an edit or a regenerate forks one), by name, oldest
 * first. Choosing one calls `context.switchBranch`; the transcript follows
 * when the server's `branch.switched` event and the refetch arrive.
 */
export function BranchSwitcher({ branches, activeId, switchingTo, disabled, onSwitch }: Props) {
  const value = switchingTo ?? activeId ?? '';
  const switching = switchingTo !== undefined && switchingTo !== activeId;
  return (
    <label className="branch-switcher" title={disabled ? 'Wait for the reply to finish to switch branches' : 'Switch branch'}>
      <svg className="branch-switcher-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden>
        <circle cx="4" cy="3" r="1.75" />
        <circle cx="4" cy="13" r="1.75" />
        <circle cx="12" cy="5" r="1.75" />
        <path d="M4 4.75v6.5M12 6.75c0 3-8 2.5-8 4.5" />
      </svg>
      <select
        className="branch-select"
        data-testid="branch-switcher"
        aria-label="Branch"
        aria-busy={switching}
        data-active-branch-id={activeId}
        value={value}
        disabled={disabled}
        onChange={(e) => {
          if (e.target.value !== value) onSwitch(e.target.value);
        }}
      >
        {branches.map((b, i) => (
          <option
            key={b.id}
            value={b.id}
            data-testid="branch-option"
            data-branch-id={b.id}
            aria-current={b.id === activeId ? 'true' : undefined}
          >
            {b.name} ({i + 1}/{branches.length})
          </option>
        ))}
      </select>
      {switching ? <span className="spinner" aria-label="Switching branch" /> : null}
    </label>
  );
}
