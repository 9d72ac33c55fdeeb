import { z } from 'zod';

/**
 * The context's FSM state as clients see it (DESIGN §4). The UI renders this,
 * it never infers the state from message parts.
 */
export const pendingToolCallSchema = z.object({
  id: z.string(),
  name: z.string(),
  args: z.unknown(),
});
export type PendingToolCall = z.infer<typeof pendingToolCallSchema>;

export const contextStateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Idle') }),
  z.object({ type: z.literal('ProcessingUserMessage'), runId: z.string() }),
  z.object({
    type: z.literal('AwaitingToolApproval'),
    runId: z.string(),
    pendingToolCalls: z.array(pendingToolCallSchema),
  }),
  z.object({ type: z.literal('ExecutingTools'), runId: z.string() }),
]);
export type ContextState = z.infer<typeof contextStateSchema>;
export type StateType = ContextState['type'];

export const IDLE: ContextState = { type: 'Idle' };

export function activeRunIdOf(state: ContextState): string | null {
  return state.type === 'Idle' ? null : state.runId;
}
