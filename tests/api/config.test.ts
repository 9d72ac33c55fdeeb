import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/server.ts';

function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'packages/api/src/serve.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr.trim() };
}

describe('invalid configuration stops the process at start with one message naming the variable', () => {
  it.each([
    [{ LLM_PROVIDER: 'bogus' }, 'LLM_PROVIDER'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ LOCAL_MODEL_TOKEN_DELAY_MS: '-5' }, 'LOCAL_MODEL_TOKEN_DELAY_MS'],
    [{ LLM_PROVIDER: 'openai-compatible' }, 'LLM_BASE_URL'],
    [{ LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: 'http://localhost:11434/v1' }, 'LLM_MODEL'],
    [{ DATABASE_URL: 'mysql://nope' }, 'DATABASE_URL'],
  ])('%o', (env, variable) => {
    const { code, stderr } = start(env);
    expect(code).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });
});
