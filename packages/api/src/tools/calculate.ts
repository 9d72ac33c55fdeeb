import { ToolError } from './tool-error.ts';

/**
 * A small arithmetic parser for the `calculate` tool: numbers, + - * / % ^,
 * parentheses and unary minus. Recursive descent; never eval.
 */
export function calculate(expression: string): number {
  const tokens = expression.match(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|[-+*/%^()]|\S/gi) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string) => {
    const token = tokens[pos++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new ToolError(`expected ${expected ?? 'a value'} at token ${pos}`);
    }
    return token;
  };
  const sum = (): number => {
    let value = product();
    while (peek() === '+' || peek() === '-') value = take() === '+' ? value + product() : value - product();
    return value;
  };
  const product = (): number => {
    let value = unary();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = take();
      const right = unary();
      if ((op === '/' || op === '%') && right === 0) throw new ToolError('division by zero');
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  };
  // Unary minus binds looser than ^ (so -2^2 = -4) and ^ is right-associative.
  const unary = (): number => {
    if (peek() === '-') return take(), -unary();
    if (peek() === '+') return take(), unary();
    return power();
  };
  const power = (): number => {
    const base = atom();
    return peek() === '^' ? (take(), base ** unary()) : base;
  };
  const atom = (): number => {
    const token = take();
    if (token === '(') {
      const value = sum();
      take(')');
      return value;
    }
    const value = Number(token);
    if (!Number.isFinite(value)) throw new ToolError(`unexpected "${token}"`);
    return value;
  };
  if (tokens.length === 0) throw new ToolError('empty expression');
  const result = sum();
  if (pos < tokens.length) throw new ToolError(`unexpected "${tokens[pos]}"`);
  if (!Number.isFinite(result)) throw new ToolError('result is not a finite number');
  return result;
}
