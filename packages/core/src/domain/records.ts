import { z } from 'zod';
import type { ContextState } from './state.ts';

/** Rows of the data model (DESIGN §3) as the domain sees them. */

export const messagePartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('tool-call'), toolCallId: z.string(), toolName: z.string(), args: z.unknown() }),
  z.object({
    type: z.literal('tool-result'),
    toolCallId: z.string(),
    toolName: z.string(),
    status: z.string(),
    result: z.unknown(),
  }),
]);
export type MessagePart = z.infer<typeof messagePartSchema>;

export type Role = 'system' | 'user' | 'assistant' | 'tool';
/** `queued`: a user message waiting behind another run; it joins its branch's transcript when its run starts. */
export type MessageStatus = 'queued' | 'complete' | 'streaming' | 'interrupted' | 'cancelled' | 'error';

/** An earlier attempt at a reply, kept when a retried run answered again in its place. */
export interface MessageAttempt {
  attempt: number;
  parts: MessagePart[];
  status: MessageStatus;
}
export type RunStatus =
  | 'pending'
  | 'processing'
  | 'awaiting_approval'
  | 'completed'
  | 'error'
  | 'cancelled'
  | 'interrupted';
export type ToolCallStatus =
  | 'pending_approval'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'running'
  | 'succeeded'
  | 'failed';
export type ContextMode = 'chat' | 'agent';
export type BusyPolicy = 'queue' | 'reject';


export interface ContextRecord {
  id: string;
  ownerId: string;
  title: string;
  model: string;
  mode: ContextMode;
  systemPrompt: string | null;
  busyPolicy: BusyPolicy;
  activeBranchId: string | null;
  state: ContextState;
  activeRunId: string | null;
  version: number;
  lastEventSeq: number;
  lastMessageSeq: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface BranchRecord {
  id: string;
  contextId: string;
  name: string;
  headMessageId: string | null;
  forkedFromMessageId: string | null;
  createdAt: Date;
}

export interface MessageRecord {
  id: string;
  contextId: string;
  branchId: string;
  parentId: string | null;
  seq: number;
  role: Role;
  parts: MessagePart[];
  status: MessageStatus;
  runId: string | null;
  clientMessageId: string | null;
  /** Earlier attempts of this reply (a run retried after a crash answers in the same message). */
  attempts: MessageAttempt[];
  createdAt: Date;
}

export interface RunRecord {
  id: string;
  contextId: string;
  branchId: string;
  triggerMessageId: string;
  responseMessageId: string | null;
  status: RunStatus;
  attempt: number;
  error: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface ToolCallRecord {
  id: string;
  runId: string;
  messageId: string;
  name: string;
  args: unknown;
  argsHash: string;
  status: ToolCallStatus;
  result: unknown;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  reason: string | null;
}

export function textOf(parts: MessagePart[]): string {
  return parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
}
