'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { authErrorMessage, safeNext, signInEmail, signUpEmail } from '@/lib/auth-client';
import { useSession } from './session-provider';

const MIN_PASSWORD = 8;

/** The sign-in and sign-up pages: one form each, errors said as sentences. */
export function AuthForm({ mode }: { mode: 'sign-in' | 'sign-up' }) {
  const { state, guestsOff } = useSession();
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const withNext = (path: string) => (next === '/' ? path : `${path}?next=${encodeURIComponent(next)}`);
  const ids = useId();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const signUp = mode === 'sign-up';
  const user = state.status === 'signed-in' ? state.user : null;
  const guest = user?.isAnonymous === true;

  if (state.status === 'loading') {
    return (
      <p className="auth-starting" aria-busy="true" data-testid="session-loading">
        Starting…
      </p>
    );
  }

  // Already signed in with an account: nothing to fill in.
  if (user && !guest) {
    return (
      <div className="auth-card" data-testid="already-signed-in">
        <h1>You are signed in</h1>
        <p>
          Signed in as <strong>{user.email}</strong>.
        </p>
        <p>
          <Link href={next} className="button button-primary">
            Go to your chats
          </Link>
        </p>
      </div>
    );
  }

  function check(): string | null {
    const address = email.trim();
    if (!address) return 'Enter your email address.';
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) return 'Please enter a valid email address.';
    if (!password) return 'Enter your password.';
    if (signUp && password.length < MIN_PASSWORD) return `Use at least ${MIN_PASSWORD} characters for your password.`;
    return null;
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const problem = check();
    if (problem) {
      setError(problem);
      return;
    }
    setPending(true);
    try {
      if (signUp) await signUpEmail({ name: name.trim() || email.trim().split('@')[0]!, email: email.trim(), password });
      else await signInEmail({ email: email.trim(), password });
      // A full load with the new session cookie: no cached data of the guest stays in memory.
      window.location.assign(next);
    } catch (e) {
      setError(authErrorMessage(e));
      setPending(false);
    }
  }

  const signedOut = params.get('signedOut') === '1';
  const ended = state.status === 'signed-out' && state.reason === 'session-ended';
  const offerGuest = !user && !guestsOff && !(state.status === 'signed-out' && state.reason === 'guests-off');

  return (
    <div className="auth-card">
      <h1>{signUp ? 'Create your account' : 'Sign in'}</h1>
      {signedOut && !signUp ? (
        <p className="auth-note" role="status" data-testid="signed-out-note">
          You are signed out.
        </p>
      ) : null}
      {ended ? (
        <p className="auth-note" role="status">
          Your session ended. Sign in again to continue.
        </p>
      ) : null}
      {guest ? (
        <p className="auth-note" data-testid="guest-note">
          {signUp
            ? 'Your chats as a guest stay yours: they move into the new account.'
            : 'Your chats as a guest move into the account you sign in to.'}
        </p>
      ) : null}
      {!user && (guestsOff || (state.status === 'signed-out' && state.reason === 'guests-off')) ? (
        <p className="auth-note">{signUp ? 'Create an account to start chatting.' : 'Sign in to start chatting.'}</p>
      ) : null}
      {/* Checked here, so every problem is said in the same words (and read out: role="alert"). */}
      <form className="auth-form" onSubmit={(e) => void onSubmit(e)} noValidate>
        {signUp ? (
          <div className="field">
            <label htmlFor={`${ids}-name`}>Name</label>
            <input
              id={`${ids}-name`}
              className="input"
              name="name"
              autoComplete="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={100}
              data-testid="auth-name"
            />
          </div>
        ) : null}
        <div className="field">
          <label htmlFor={`${ids}-email`}>Email</label>
          <input
            id={`${ids}-email`}
            className="input"
            type="email"
            name="email"
            autoComplete={signUp ? 'email' : 'username'}
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            maxLength={254}
            data-testid="auth-email"
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-password`}>Password</label>
          <input
            id={`${ids}-password`}
            className="input"
            type="password"
            name="password"
            autoComplete={signUp ? 'new-password' : 'current-password'}
            required
            maxLength={128}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={[signUp ? `${ids}-password-hint` : '', error ? `${ids}-error` : ''].filter(Boolean).join(' ') || undefined}
            aria-invalid={error ? true : undefined}
            data-testid="auth-password"
          />
          {signUp ? (
            <span id={`${ids}-password-hint`} className="field-hint">
              At least {MIN_PASSWORD} characters.
            </span>
          ) : null}
        </div>
        {error ? (
          <p id={`${ids}-error`} className="inline-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button button-primary auth-submit" disabled={pending} data-testid="auth-submit">
          {pending ? (signUp ? 'Creating account…' : 'Signing in…') : signUp ? 'Create account' : 'Sign in'}
        </button>
      </form>
      <p className="auth-switch">
        {signUp ? (
          <>
            Already have an account?{' '}
            <Link href={withNext('/sign-in')} data-testid="to-sign-in">
              Sign in
            </Link>
          </>
        ) : (
          <>
            No account yet?{' '}
            <Link href={withNext('/sign-up')} data-testid="to-sign-up">
              Create one
            </Link>
          </>
        )}
      </p>
      {guest ? (
        <p className="auth-switch">
          <Link href={next}>Back to your chats</Link>
        </p>
      ) : offerGuest ? (
        <p className="auth-switch">
          <Link href={next} data-testid="continue-as-guest">
            Continue as a guest
          </Link>
        </p>
      ) : null}
    </div>
  );
}
