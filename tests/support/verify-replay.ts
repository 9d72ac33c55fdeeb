import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './server.ts';

/** Runs `npm run verify-replay`'s script against a database: its exit code and output. */
export function verifyReplay(databaseUrl: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts/verify-replay.ts')],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr }),
    );
  });
}
