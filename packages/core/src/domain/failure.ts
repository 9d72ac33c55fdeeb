/**
 * Why a run failed, as clients see it (DESIGN §13): a stable category and a
 * safe sentence. Stored as `CODE: sentence` in `Run.error` / `Context.lastError`
 * (and the events that carry them); raw error text never goes there, it stays
 * in the server's log.
 */
export const FAILURE_CODES = ['MODEL_FAILED', 'MODEL_UNAVAILABLE', 'OUTPUT_LIMIT', 'TOOL_ROUNDS_EXCEEDED', 'INTERRUPTED'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface Failure {
  code: FailureCode;
  message: string;
}

export const GENERIC_FAILURE: Record<FailureCode, string> = {
  MODEL_FAILED: 'The model failed while answering.',
  MODEL_UNAVAILABLE: 'The model is not available right now; try again later.',
  OUTPUT_LIMIT: 'The reply reached the output limit and was cut short.',
  TOOL_ROUNDS_EXCEEDED: 'The run used too many tool rounds and was stopped.',
  INTERRUPTED: 'The run was interrupted too many times and was given up.',
};

export const failure = (code: FailureCode, message = GENERIC_FAILURE[code]): Failure => ({ code, message });

export const failureText = (f: Failure) => `${f.code}: ${f.message}`;

const isCode = (code: string): code is FailureCode => (FAILURE_CODES as readonly string[]).includes(code);

/**
 * The public form of a stored error. Text stored before errors were
 * categorised (raw) is never shown: it becomes its category's generic sentence.
 */
export function parseFailure(stored: string | null | undefined): Failure | null {
  if (stored === null || stored === undefined) return null;
  const m = /^([A-Z_]+): ([^\n]{1,500})$/.exec(stored);
  if (m && isCode(m[1]!)) return { code: m[1], message: m[2]! };
  return failure(/interrupted/i.test(stored) ? 'INTERRUPTED' : 'MODEL_FAILED');
}
