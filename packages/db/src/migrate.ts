import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding prisma.config.ts: three levels above this file, or
 * (when bundled, e.g. by Next) the nearest one above the working directory.
 * Not `new URL('../../../', import.meta.url)`: bundlers treat that as an asset.
 */
export function repoRoot(): string {
  const candidates = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')];
  for (let dir = process.cwd(), up = ''; dir !== up; up = dir, dir = path.dirname(dir)) candidates.push(dir);
  const root = candidates.find((dir) => existsSync(path.join(dir, 'prisma.config.ts')));
  if (!root) throw new Error(`prisma.config.ts not found (looked in ${candidates.join(', ')})`);
  return root;
}

/**
 * Applies prisma/migrations with the Prisma 6.19.3 CLI (Wasm schema engine,
 * configured by prisma.config.ts). Takes 0.7-0.9 s here, most of it CLI
 * start-up (it would linger 10 s more without the timer fix in prisma.config.ts).
 */
export function migrateDeploy(databaseUrl: string): Promise<void> {
  const root = repoRoot();
  return new Promise((resolve, reject) => {
    execFile(
      path.join(root, 'node_modules/.bin/prisma'),
      ['migrate', 'deploy'],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve();
        const how = error.killed ? `killed (${error.signal})` : `exit code ${error.code}`;
        reject(new Error(`prisma migrate deploy failed (${how}):\n${stdout}${stderr}`, { cause: error }));
      },
    );
  });
}
