'use client';

/**
 * `/use-chat`: a chat built only with the AI SDK's `useChat` on
 * `@chat/client/ai-sdk` (the README's useChat example is copied from
 * `ChatPanel` below). Same origin, so the client uses this browser's session
 * cookie and its EventSource. `?id=<contextId>` opens a chat; without one a new
 * chat is created and its id put in the address.
 */
import { useChat } from '@ai-sdk/react';
import { createChatClient, type ChatClient } from '@chat/client';
import { ChatServerTransport, loadUIMessages } from '@chat/client/ai-sdk';
import { lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from 'ai';
import { useEffect, useState } from 'react';

export default function UseChatPage() {
  const [opened, setOpened] = useState<{ client: ChatClient; id: string; messages: UIMessage[] } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    const client = createChatClient({ url: window.location.origin });
    (async () => {
      let id = new URLSearchParams(window.location.search).get('id');
      if (!id) {
        id = (await client.context.create.mutate({})).context.id;
        window.history.replaceState(null, '', `?id=${encodeURIComponent(id)}`);
      }
      setOpened({ client, id, messages: await loadUIMessages(client, id) });
    })().catch((error: unknown) => setFailure(error instanceof Error ? error.message : String(error)));
  }, []);
  if (failure) return <p role="alert" data-testid="use-chat-error">{failure}</p>;
  if (!opened) return <p data-testid="use-chat-loading">Loading…</p>;
  return <ChatPanel {...opened} />;
}

function ChatPanel({ client, id, messages: initialMessages }: { client: ChatClient; id: string; messages: UIMessage[] }) {
  const [transport] = useState(() => new ChatServerTransport({ client }));
  const { messages, sendMessage, addToolApprovalResponse, stop, status, error } = useChat({
    id, // the chat's id is the server's context id
    messages: initialMessages, // from loadUIMessages(client, id)
    transport,
    resume: true, // a reply still streaming (after a reload) continues
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
  });
  const [input, setInput] = useState('');

  return (
    <div className="chat" data-testid="use-chat" data-status={status}>
      {messages.map((message) => (
        <div key={message.id} data-testid="message" data-role={message.role}>
          {message.parts.map((part, i) =>
            part.type === 'text' ? (
              <p key={i} data-testid="text" data-state={part.state}>
                {part.text}
              </p>
            ) : part.type === 'dynamic-tool' ? (
              <div key={i} data-testid="tool" data-tool-name={part.toolName} data-state={part.state}>
                {part.toolName}: {part.state === 'output-available' ? JSON.stringify(part.output) : part.state}
                {part.state === 'approval-requested' ? (
                  <button data-testid="approve" onClick={() => addToolApprovalResponse({ id: part.approval.id, approved: true })}>
                    Approve
                  </button>
                ) : null}
              </div>
            ) : null,
          )}
        </div>
      ))}
      {error ? <p role="alert" data-testid="error">{error.message}</p> : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (input.trim()) void sendMessage({ text: input });
          setInput('');
        }}
      >
        <input data-testid="input" value={input} onChange={(event) => setInput(event.target.value)} />
        <button data-testid="send" disabled={status !== 'ready' && status !== 'error'}>
          Send
        </button>
        <button type="button" data-testid="stop" onClick={() => void stop()} disabled={status !== 'submitted' && status !== 'streaming'}>
          Stop
        </button>
      </form>
    </div>
  );
}
