// Makes a fresh clone runnable: installs dependencies when they are missing or
// stale, and generates the Prisma client when it is missing or older than the
// schema. Plain Node with no dependencies, because it runs before `npm ci`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' } });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

const marker = path.join(root, 'node_modules/.package-lock.json');
if (!existsSync(marker) || mtime(marker) < mtime(path.join(root, 'package-lock.json'))) {
  console.log('> installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const client = path.join(root, 'packages/db/src/generated/prisma/client.ts');
if (mtime(client) < mtime(path.join(root, 'prisma/schema.prisma'))) {
  console.log('> generating the Prisma client');
  run(path.join(root, 'node_modules/.bin/prisma'), ['generate']);
}

// `--client`: also builds @chat/client (its dist/) when it is missing or older than its sources, for the scripts that import it (the bench).
if (process.argv.includes('--client')) {
  const src = path.join(root, 'packages/client/src');
  const newest = Math.max(...readdirSync(src, { recursive: true }).map((f) => mtime(path.join(src, f))));
  if (mtime(path.join(root, 'packages/client/dist/index.js')) < newest) {
    console.log('> building @chat/client');
    run('node', [path.join(root, 'packages/client/build.mjs')]);
  }
}
