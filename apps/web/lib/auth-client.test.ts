import { describe, expect, it } from 'vitest';
import { AuthError, authErrorMessage, isAuthPage, safeNext } from './auth-client';

describe('web auth helpers', () => {
  it('goes on only to a path of this app after signing in', () => {
    expect(safeNext('/c/ctx_1')).toBe('/c/ctx_1');
    expect(safeNext('/settings?tab=tokens')).toBe('/settings?tab=tokens');
    for (const bad of [null, undefined, '', 'https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)', '/sign-in', '/sign-up?next=/']) {
      expect(safeNext(bad)).toBe('/');
    }
  });
  it('knows the pages a signed-out browser may see', () => {
    expect(isAuthPage('/sign-in')).toBe(true);
    expect(isAuthPage('/sign-up')).toBe(true);
    expect(isAuthPage('/')).toBe(false);
    expect(isAuthPage(null)).toBe(false);
  });
  it('says failures as sentences, never as the body', () => {
    expect(authErrorMessage(new AuthError(401, 'INVALID_EMAIL_OR_PASSWORD', 'Invalid email or password'))).toBe(
      'That email and password do not match an account.',
    );
    expect(authErrorMessage(new AuthError(422, 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL', ''))).toMatch(/already exists/);
    expect(authErrorMessage(new AuthError(429, undefined, ''))).toMatch(/Too many attempts/);
    expect(authErrorMessage(new AuthError(500, 'SOMETHING_INTERNAL', '{"stack":"..."}'))).toMatch(/^The server could not complete this/);
    expect(authErrorMessage(new AuthError(undefined, undefined, 'network'))).toMatch(/could not be reached/);
    expect(authErrorMessage(new Error('boom'))).toBe('Something went wrong. Please try again.');
  });
});
