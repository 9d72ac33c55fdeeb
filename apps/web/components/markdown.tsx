'use client';

import { code } from '@streamdown/code';
import { memo } from 'react';
import { Streamdown, type Components } from 'streamdown';

const plugins = { code };
/** Bold as <strong> (streamdown's own is a styled <span>, which says nothing to a screen reader). */
const components: Components = {
  strong: ({ node: _node, ...props }) => <strong data-streamdown="strong" {...props} />,
};
/**
 * Code blocks get a copy button; the rest of streamdown's controls stay off: downloads, fullscreen,
 * and the table's copy menu, whose dropdown is laid out by Tailwind classes this app does not have
 * (its button sat unstyled over the table's corner). The message's own Copy copies a table's Markdown.
 */
const controls = { code: { copy: true, download: false }, table: { copy: false, download: false, fullscreen: false }, mermaid: false, image: false } as const;

/**
 * An assistant reply as Markdown (streamdown: GitHub Markdown, half-finished
 * blocks rendered while they stream, raw HTML sanitised, Shiki highlighting).
 * The app has no Tailwind: streamdown's utility classes do nothing here, and
 * globals.css styles its output through the `data-streamdown` attributes.
 */
export const Markdown = memo(function Markdown({ text, streaming }: { text: string; streaming: boolean }) {
  return (
    <Streamdown
      className="markdown"
      mode={streaming ? 'streaming' : 'static'}
      isAnimating={streaming}
      plugins={plugins}
      controls={controls}
      components={components}
      shikiTheme={['github-light-high-contrast', 'github-dark-high-contrast']}
    >
      {text}
    </Streamdown>
  );
});
