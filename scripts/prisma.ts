// Runs the Prisma 6.19.3 CLI against DATABASE_URL, or against the embedded
// PostgreSQL under DATA_DIR (default .data), started for the duration.
//   npx tsx scripts/prisma.ts migrate dev [--name x]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from '../packages/db/src/embedded-postgres.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const db = await ensureDatabase({
  databaseUrl: process.env.DATABASE_URL || undefined,
  dataDir: path.resolve(process.env.DATA_DIR ?? path.join(root, '.data')),
});

function prisma(cliArgs: string[], stdio: 'inherit' | 'pipe'): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'node_modules/.bin/prisma'), cliArgs, {
      cwd: root,
      stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

let exitCode = 1;
try {
  // The Wasm engine's `migrate dev` fails after applying pending migrations
  // ("PostgreSQL shadow DB must be provided through an external factory", in
  // EvaluateDataLoss), e.g. on a fresh database. With nothing pending it works,
  // so apply pending migrations with `migrate deploy` first.
  const deploy = args[0] === 'migrate' && args[1] === 'dev' ? await prisma(['migrate', 'deploy'], 'pipe') : undefined;
  if (deploy && deploy.code !== 0) {
    process.stderr.write(`prisma migrate deploy (run before migrate dev) failed:\n${deploy.output}`);
    exitCode = deploy.code;
  } else {
    exitCode = (await prisma(args, 'inherit')).code;
  }
} finally {
  await db.stop();
}
process.exit(exitCode);
