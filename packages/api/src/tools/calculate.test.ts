import { describe, expect, it } from 'vitest';
import { calculate } from './calculate.ts';

describe('calculate: arithmetic without eval', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['2 ^ 3 ^ 2', 512],
    ['-2 ^ 2', -4],
    ['2 ^ -1', 0.5],
    ['10 / 4', 2.5],
    ['10 % 4', 2],
    ['--3', 3],
    ['1.5e3 + 1', 1501],
    ['2*(3+4)^2 - 1', 97],
  ])('%s = %d', (expression, value) => {
    expect(calculate(expression)).toBe(value);
  });

  it.each(['', '1 +', '(1 + 2', '1 / 0', 'process.exit(1)', 'Math.PI', '2 2', '1e400'])('rejects %j', (expression) => {
    expect(() => calculate(expression)).toThrow();
  });
});
