/**
 * A tool's own answer to bad input (e.g. "division by zero"): its message is
 * the tool's result, for the model and the client. Any other error a tool
 * throws may carry internal detail (SQL, hosts): it is logged, and the result
 * says only that the tool failed.
 */
export class ToolError extends Error {
  override name = 'ToolError';
}
