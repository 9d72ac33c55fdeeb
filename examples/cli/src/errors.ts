import { ChatError } from '@chat/client';

/** A failed call in words, from its `appCode` (the server's stable error code). */
export function describeError(raw: unknown, url: string): string {
  const error = ChatError.from(raw);
  switch (error.appCode) {
    case 'UNAUTHENTICATED':
      return 'the server wants an API token: set CHAT_TOKEN (make one in the web app under Settings, or with apiToken.create)';
    case 'INVALID_TOKEN':
      return 'the server did not accept CHAT_TOKEN (mistyped, revoked or from another server): make a new token in the web app under Settings';
    case 'CONTEXT_NOT_FOUND':
      return 'there is no such chat (or it belongs to someone else)';
    case 'RUN_NOT_FOUND':
      return 'that reply is no longer running';
    case 'MESSAGE_NOT_FOUND':
      return 'that message does not exist';
    case 'TOOL_CALL_NOT_FOUND':
      return 'that tool call does not exist';
    case 'TOOL_CALL_ALREADY_DECIDED':
      return 'that tool call was already decided (perhaps in another window)';
    case 'CONTEXT_BUSY':
      return 'the chat is busy with another reply: try again when it has finished';
    case 'STALE_VERSION':
      return 'the chat changed meanwhile: try again';
    case 'IDEMPOTENCY_KEY_REUSED':
    case 'IDEMPOTENCY_KEY_IN_PROGRESS':
      return 'the server is still handling the same request: try again in a moment';
    case 'MESSAGE_TOO_LONG':
      return 'that message is too long for this server';
    case 'PAYLOAD_TOO_LARGE':
      return 'that request is too large for this server';
    case 'RATE_LIMITED':
      return `too many requests: wait${error.retryAfterMs !== undefined ? ` ${Math.ceil(error.retryAfterMs / 1000)} s` : ' a little'} and try again`;
    case 'SERVICE_BUSY':
      return 'the server is busy right now: try again shortly';
    case 'INVALID_INPUT': {
      const fields = Object.entries(error.zodError?.fieldErrors ?? {}).map(([field, issues]) => `${field}: ${(issues ?? []).join(', ')}`);
      return `the server rejected the request (${[...(error.zodError?.formErrors ?? []), ...fields].join('; ') || error.message})`;
    }
    case 'CROSS_SITE_REQUEST':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return `the server refused the request (${error.appCode}): is CHAT_URL the chat server?`;
    case 'NETWORK':
      return `cannot reach the chat server at ${url}${error.httpStatus ? ` (HTTP ${error.httpStatus})` : ''}: is it running, and is CHAT_URL right?`;
    default:
      return `${error.message} (${error.appCode})`;
  }
}

/** Errors no retry or new prompt can fix: the CLI stops with a non-zero exit code. */
export function isFatal(raw: unknown): boolean {
  const { appCode } = ChatError.from(raw);
  return appCode === 'UNAUTHENTICATED' || appCode === 'INVALID_TOKEN' || appCode === 'CONTEXT_NOT_FOUND' || appCode === 'CROSS_SITE_REQUEST';
}
