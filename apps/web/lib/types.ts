import type { RouterInputs, RouterOutputs, StreamItem } from '@chat/api';

/** Client-side names for the API's shapes (types only: nothing of @chat/api reaches the bundle). */
export type ContextDetail = RouterOutputs['context']['get'];
export type ChatMessage = ContextDetail['messages'][number];
export type Branch = ContextDetail['branches'][number];
export type MessagePart = ChatMessage['parts'][number];
export type ToolCall = ContextDetail['toolCalls'][number];
export type StateView = ContextDetail['state'];
export type FsmState = StateView['state'];
export type PendingToolCall = StateView['pendingToolCalls'][number];
export type ContextSummary = RouterOutputs['context']['list']['items'][number];
export type SendMessageInput = RouterInputs['chat']['sendMessage'];
export type ApproveToolsInput = RouterInputs['chat']['approveTools'];
export type { StreamItem };
export type ApiTokenView = RouterOutputs['apiToken']['list'][number];
