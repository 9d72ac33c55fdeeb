'use client';

import { useEffect, useRef, useState } from 'react';

/** Copies `text` to the clipboard; says "Copied" for a moment. */
export function CopyButton({ text, label = 'Copy', testId = 'copy-message' }: { text: string; label?: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      className="button button-small button-ghost"
      data-testid={testId}
      data-state={state}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState('copied');
        } catch {
          setState('failed');
        }
        clearTimeout(timer.current);
        timer.current = setTimeout(() => setState('idle'), 1500);
      }}
    >
      {state === 'copied' ? (
        '✓ Copied'
      ) : state === 'failed' ? (
        'Copy failed'
      ) : (
        <>
          {/* An SVG, not a symbol character: fonts without it showed an empty box. */}
          <svg className="button-icon" viewBox="0 0 16 16" width="13" height="13" aria-hidden>
            <rect x="5.5" y="5.5" width="8" height="8" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.4" />
            <path d="M10.5 3.5v-.5A1.5 1.5 0 0 0 9 1.5H4A1.5 1.5 0 0 0 2.5 3v5A1.5 1.5 0 0 0 4 9.5h.5" fill="none" stroke="currentColor" strokeWidth="1.4" />
          </svg>
          {label}
        </>
      )}
    </button>
  );
}
