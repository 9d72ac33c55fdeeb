import { ChatView } from '@/components/chat-view';

/** `/c/[contextId]`: one open chat. */
export default async function ChatPage({ params }: { params: Promise<{ contextId: string }> }) {
  const { contextId } = await params;
  return <ChatView key={contextId} contextId={decodeURIComponent(contextId)} />;
}
