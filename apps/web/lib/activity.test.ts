import { describe, expect, it } from 'vitest';
import { activityOf, queuedMessageIds, visibleRunError } from './activity';
import type { ContextDetail } from './types';

type Detail = Pick<ContextDetail, 'state' | 'messages' | 'latestRun'>;
const state = (s: object, extra: object = {}) => ({ state: s, queue: [], lastError: null, ...extra }) as unknown as ContextDetail['state'];
const reply = (text: string, status = 'streaming') =>
  ({ id: 'm2', role: 'assistant', status, runId: 'r1', parts: text ? [{ type: 'text', text }] : [] }) as unknown as ContextDetail['messages'][number];

describe('the activity the chat shows', () => {
  it('is Thinking before the first token and Writing while text streams', () => {
    const busy = state({ type: 'ProcessingUserMessage', runId: 'r1' });
    expect(activityOf({ state: busy, messages: [] } as unknown as Detail).label).toBe('Thinking…');
    expect(activityOf({ state: busy, messages: [reply('')] } as unknown as Detail).label).toBe('Thinking…');
    expect(activityOf({ state: busy, messages: [reply('Hel')] } as unknown as Detail).label).toBe('Writing…');
    expect(activityOf({ state: state({ type: 'Idle' }), messages: [reply('done', 'complete')] } as unknown as Detail).label).toBe('Ready');
    expect(activityOf({ state: state({ type: 'AwaitingToolApproval', runId: 'r1' }), messages: [] } as unknown as Detail).kind).toBe('approval');
  });
  it('lists the messages whose runs are queued', () => {
    const s = state({ type: 'ProcessingUserMessage', runId: 'r1' }, { queue: [{ id: 'r2', status: 'pending', triggerMessageId: 'u2' }] });
    expect([...queuedMessageIds({ state: s })]).toEqual(['u2']);
  });
  it("shows a failed run's error until a later run or a dismissal hides it", () => {
    const failed = { id: 'r1', status: 'error', error: { code: 'MODEL_ERROR', message: 'The model failed.' }, responseMessageId: 'm2', triggerMessageId: 'u1' };
    const detail = { state: state({ type: 'Idle' }, { lastError: { code: 'MODEL_ERROR', message: 'The model failed.' } }), latestRun: failed } as unknown as Detail;
    expect(visibleRunError(detail, new Set())).toMatchObject({ runId: 'r1', messageId: 'm2', message: 'The model failed.' });
    expect(visibleRunError(detail, new Set(['r1']))).toBeNull();
    // A later run completed: lastError may still be set on the server, the reply's error is gone.
    const later = { ...detail, latestRun: { ...failed, id: 'r2', status: 'completed', error: null } } as unknown as Detail;
    expect(visibleRunError(later, new Set())).toBeNull();
  });
});
