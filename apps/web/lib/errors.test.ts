import { describe, expect, it } from 'vitest';
import { errorInfo, isRetriable, messageLimitOf, retryDelayMs } from './errors';

const busy = { message: 'the database is not available; retry in 1 s', data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, appCode: 'SERVICE_BUSY', details: { retryAfterMs: 1000 } } };
const conflict = { message: 'busy', data: { code: 'CONFLICT', httpStatus: 409, appCode: 'CONTEXT_BUSY' } };
const network = new TypeError('Failed to fetch');

describe('web error helpers', () => {
  it('SERVICE_BUSY and network failures are retriable, other answers are not', () => {
    expect(isRetriable(busy)).toBe(true);
    expect(isRetriable(network)).toBe(true);
    expect(isRetriable(conflict)).toBe(false);
  });
  it('SERVICE_BUSY is shown in plain words', () => {
    expect(errorInfo(busy).message).toBe('The server is busy right now. Please try again in a moment.');
    expect(errorInfo(conflict).message).toBe('busy');
    const signedOut = { message: 'no session or token', data: { code: 'UNAUTHORIZED', httpStatus: 401, appCode: 'UNAUTHENTICATED' } };
    expect(errorInfo(signedOut).message).toBe('You are signed out. Reload the page to go on.');
  });
  it('the pause follows retryAfterMs (with jitter), else backs off, capped', () => {
    const d = retryDelayMs(0, busy);
    expect(d).toBeGreaterThanOrEqual(1000);
    expect(d).toBeLessThanOrEqual(1500);
    for (let i = 0; i < 20; i++) {
      expect(retryDelayMs(0, network)).toBeGreaterThanOrEqual(100);
      expect(retryDelayMs(0, network)).toBeLessThanOrEqual(200);
      expect(retryDelayMs(2, network)).toBeGreaterThanOrEqual(400);
      expect(retryDelayMs(2, network)).toBeLessThanOrEqual(800);
    }
    expect(retryDelayMs(10, network)).toBe(8000);
  });
  it('rate limits say when to retry; validation JSON and 413 become sentences; the message limit is read from MESSAGE_TOO_LONG', () => {
    const limited = { message: 'x', data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, appCode: 'RATE_LIMITED', details: { retryAfterMs: 12_300 } } };
    expect(errorInfo(limited).message).toBe('You are sending too fast. Try again in 13 s.');
    const invalid = { message: '[{"code":"too_big"}]', data: { code: 'BAD_REQUEST', httpStatus: 400, appCode: 'INVALID_INPUT' } };
    expect(errorInfo(invalid).message).not.toContain('{');
    const tooLong = { message: 'A message may have at most 100000 characters (this one has 200000).', data: { code: 'BAD_REQUEST', httpStatus: 400, appCode: 'MESSAGE_TOO_LONG', details: { max: 100000 } } };
    expect(errorInfo(tooLong).message).toContain('100000');
    expect(messageLimitOf(tooLong)).toBe(100000);
    expect(messageLimitOf(invalid)).toBeUndefined();
  });
});
