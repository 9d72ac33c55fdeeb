import { describe, expect, it } from 'vitest';
import { failure, failureText, parseFailure } from './failure.ts';

describe('failures as clients see them', () => {
  it('a stored `CODE: sentence` reads back as { code, message }', () => {
    const f = failure('TOOL_ROUNDS_EXCEEDED', 'Stopped after 8 rounds.');
    expect(parseFailure(failureText(f))).toEqual(f);
    expect(parseFailure(null)).toBeNull();
  });

  it('raw text (stored before categories) is never shown', () => {
    expect(parseFailure('connect ECONNREFUSED 10.0.0.5:443 at Socket.x (node:net:1)')).toEqual(failure('MODEL_FAILED'));
    expect(parseFailure('run interrupted 3 times; giving up')).toEqual(failure('INTERRUPTED'));
    expect(parseFailure('SOMETHING_ELSE: internal detail')).toEqual(failure('MODEL_FAILED'));
  });
});
