/** The animated "…" of a reply being written. */
export function TypingDots({ label }: { label: string }) {
  return (
    <span className="typing" data-testid="typing" role="status" aria-label={label}>
      <span />
      <span />
      <span />
    </span>
  );
}
