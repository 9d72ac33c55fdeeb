'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type FormEvent } from 'react';
import { errorInfo } from '@/lib/errors';
import { relativeTime } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import type { ApiTokenView } from '@/lib/types';
import { useUser } from './session-provider';

const MAX_NAME = 100;

/** Settings: API tokens for other apps (`Authorization: Bearer <token>`): list, create (shown once), revoke. */
export function ApiTokens() {
  const trpc = useTRPC();
  const user = useUser();
  const list = useQuery(trpc.apiToken.list.queryOptions());
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);

  return (
    <section className="settings-section" aria-labelledby="api-tokens-heading">
      <h2 id="api-tokens-heading">API tokens</h2>
      <p className="settings-note">
        Other apps use a token to act as you, with <code>Authorization: Bearer &lt;token&gt;</code> or{' '}
        <code>createChatClient({'{ url, token }'})</code>. Revoke a token when an app no longer needs it.
      </p>
      {user.isAnonymous ? (
        <p className="settings-note settings-warn" data-testid="guest-token-note">
          You are a guest: a token acts as this guest account. When you sign up, your tokens and chats move into the new account.
        </p>
      ) : null}
      {created ? <NewTokenSecret {...created} onDone={() => setCreated(null)} /> : null}
      <CreateTokenForm onCreated={setCreated} />
      {list.isPending ? (
        <p className="settings-note">Loading tokens…</p>
      ) : list.isError ? (
        <p className="inline-error" role="alert">
          Could not load your tokens: {errorInfo(list.error).message}
        </p>
      ) : list.data.length === 0 ? (
        <p className="settings-note" data-testid="no-tokens">
          No tokens yet.
        </p>
      ) : (
        <TokenTable tokens={list.data} />
      )}
    </section>
  );
}

function CreateTokenForm({ onCreated }: { onCreated: (created: { token: string; name: string }) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation(
    trpc.apiToken.create.mutationOptions({
      onSuccess: (result) => {
        setName('');
        onCreated({ token: result.token, name: result.apiToken.name });
        void queryClient.invalidateQueries(trpc.apiToken.list.pathFilter());
      },
    }),
  );

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setProblem('Give the token a name, such as the app that will use it.');
      return;
    }
    setProblem(null);
    create.mutate({ name: trimmed });
  }

  const error = problem ?? (create.error ? `The token was not created: ${errorInfo(create.error).message}` : null);
  return (
    <form className="token-create" onSubmit={onSubmit}>
      <label htmlFor={`${id}-name`} className="token-create-label">
        New token name
      </label>
      <div className="token-create-row">
        <input
          id={`${id}-name`}
          className="input"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={MAX_NAME}
          placeholder="e.g. my-script"
          autoComplete="off"
          aria-describedby={error ? `${id}-error` : undefined}
          data-testid="token-name"
        />
        <button type="submit" className="button button-primary" disabled={create.isPending} data-testid="create-token">
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </div>
      {error ? (
        <p id={`${id}-error`} className="inline-error" role="alert" data-testid="token-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** The new secret, this once: copy it now, it is never shown again. */
function NewTokenSecret({ token, name, onDone }: { token: string; name: string; onDone: () => void }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<'idle' | 'copied' | 'manual'>('idle');

  async function onCopy() {
    try {
      await navigator.clipboard.writeText(token);
      setCopy('copied');
    } catch {
      // No clipboard (e.g. plain http on another host): select it for Ctrl+C.
      input.current?.select();
      setCopy('manual');
    }
  }

  return (
    <div className="token-secret" role="region" aria-labelledby={`${id}-title`} data-testid="new-token">
      <h3 id={`${id}-title`}>Token “{name}” created</h3>
      <p className="token-secret-warn" data-testid="new-token-warning">
        Copy it now: it will not be shown again.
      </p>
      <label htmlFor={`${id}-secret`} className="visually-hidden">
        The new token
      </label>
      <div className="token-create-row">
        <input
          id={`${id}-secret`}
          ref={input}
          className="input token-secret-value"
          readOnly
          value={token}
          onFocus={(e) => e.currentTarget.select()}
          spellCheck={false}
          data-testid="new-token-secret"
        />
        <button type="button" className="button button-secondary" onClick={() => void onCopy()} data-testid="copy-token">
          {copy === 'copied' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button button-ghost" onClick={onDone} data-testid="dismiss-token">
          Done
        </button>
      </div>
      <p className="settings-note" role="status">
        {copy === 'copied' ? 'The token is on your clipboard.' : copy === 'manual' ? 'Press Ctrl+C (or ⌘C) to copy the selected token.' : ''}
      </p>
    </div>
  );
}

function TokenTable({ tokens }: { tokens: ApiTokenView[] }) {
  return (
    <table className="token-table" data-testid="token-table">
      <caption className="visually-hidden">Your API tokens</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Token</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {tokens.map((token) => (
          <TokenRow key={token.id} token={token} />
        ))}
      </tbody>
    </table>
  );
}

function TokenRow({ token }: { token: ApiTokenView }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation(
    trpc.apiToken.revoke.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries(trpc.apiToken.list.pathFilter()),
    }),
  );
  return (
    <tr data-testid="token-row" data-token-id={token.id}>
      <td data-label="Name" className="token-name" data-testid="token-row-name">
        {token.name}
      </td>
      <td data-label="Token">
        <code data-testid="token-row-prefix">{token.prefix}…</code>
      </td>
      <td data-label="Created">
        <time dateTime={token.createdAt.toISOString()} title={token.createdAt.toLocaleString()}>
          {relativeTime(token.createdAt)}
        </time>
      </td>
      <td data-label="Last used" data-testid="token-row-last-used">
        {token.lastUsedAt ? (
          <time dateTime={token.lastUsedAt.toISOString()} title={token.lastUsedAt.toLocaleString()}>
            {relativeTime(token.lastUsedAt)}
          </time>
        ) : (
          'Never'
        )}
      </td>
      <td className="token-actions">
        {confirming ? (
          <div className="token-confirm" role="group" aria-label={`Revoke ${token.name}?`}>
            <span className="token-confirm-text">Apps using it stop working.</span>
            <button
              type="button"
              className="button button-danger button-small"
              disabled={revoke.isPending}
              onClick={() => revoke.mutate({ id: token.id })}
              data-testid="confirm-revoke"
            >
              {revoke.isPending ? 'Revoking…' : 'Revoke'}
            </button>
            <button
              type="button"
              className="button button-ghost button-small"
              disabled={revoke.isPending}
              onClick={() => setConfirming(false)}
              data-testid="cancel-revoke"
            >
              Cancel
            </button>
          </div>
        ) : (
          <button
            type="button"
            className="button button-secondary button-small"
            onClick={() => setConfirming(true)}
            aria-label={`Revoke ${token.name}`}
            data-testid="revoke-token"
          >
            Revoke
          </button>
        )}
        {revoke.error ? (
          <p className="inline-error" role="alert">
            The token was not revoked: {errorInfo(revoke.error).message}
          </p>
        ) : null}
      </td>
    </tr>
  );
}
