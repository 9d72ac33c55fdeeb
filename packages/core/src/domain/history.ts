import type { MessageRecord, RunRecord } from './records.ts';
import { textOf } from './records.ts';

/** The conversation as the model port takes it (built by buildModelHistory). */
export type ModelMessage =
  | { role: 'user'; text: string }
  | {
      role: 'assistant';
      text: string;
      toolCalls: { id: string; name: string; args: unknown }[];
    }
  | { role: 'tool'; results: { toolCallId: string; toolName: string; result: unknown; isError: boolean }[] };

/**
 * What the model sees for a run: the branch path, without partial replies that
 * were interrupted or failed and without user messages still waiting for their
 * own run; the run's trigger placed just before the run's own messages (with a
 * queue, later messages can sit between them). Then windowed to a budget of
 * characters, newest kept, never starting on a tool result.
 */
export function buildModelHistory(
  path: MessageRecord[],
  run: Pick<RunRecord, 'id' | 'triggerMessageId'>,
  waitingTriggerIds: ReadonlySet<string>,
  budgetChars: number,
): ModelMessage[] {
  const kept = path.filter(
    (m) =>
      m.role !== 'system' &&
      m.status !== 'interrupted' &&
      m.status !== 'error' &&
      !(m.role === 'user' && m.id !== run.triggerMessageId && waitingTriggerIds.has(m.id)),
  );
  const trigger = kept.filter((m) => m.id === run.triggerMessageId);
  const own = kept.filter((m) => m.runId === run.id && m.id !== run.triggerMessageId);
  const before = kept.filter((m) => m.id !== run.triggerMessageId && m.runId !== run.id);
  const ordered = [...before, ...trigger, ...own].map(toModelMessage).filter((m): m is ModelMessage => m !== null);
  return windowed(ordered, budgetChars);
}

function toModelMessage(m: MessageRecord): ModelMessage | null {
  switch (m.role) {
    case 'user':
      return { role: 'user', text: textOf(m.parts) };
    case 'assistant': {
      const toolCalls = m.parts.flatMap((p) =>
        p.type === 'tool-call' ? [{ id: p.toolCallId, name: p.toolName, args: p.args }] : [],
      );
      const text = textOf(m.parts);
      return text || toolCalls.length ? { role: 'assistant', text, toolCalls } : null;
    }
    case 'tool':
      return {
        role: 'tool',
        results: m.parts.flatMap((p) =>
          p.type === 'tool-result'
            ? [{ toolCallId: p.toolCallId, toolName: p.toolName, result: p.result, isError: p.status === 'failed' }]
            : [],
        ),
      };
    default:
      return null;
  }
}

function sizeOf(m: ModelMessage): number {
  return m.role === 'tool' ? JSON.stringify(m.results).length : m.text.length + JSON.stringify(m.role === 'assistant' ? m.toolCalls : []).length;
}

function windowed(messages: ModelMessage[], budgetChars: number): ModelMessage[] {
  let used = 0;
  let start = messages.length;
  while (start > 0) {
    const size = sizeOf(messages[start - 1]!);
    // The newest message is always sent, whatever its size.
    if (start < messages.length && used + size > budgetChars) break;
    used += size;
    start--;
  }
  // A tool result without its call, or an assistant reply first, confuses providers.
  while (start < messages.length - 1 && messages[start]!.role !== 'user') start++;
  return messages.slice(start);
}
