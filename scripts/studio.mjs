// Prisma Studio (`npm run studio`) on http://localhost:$STUDIO_PORT (5555).
// Prisma 6.19.3's studio needs a query-engine download (fails offline), so this
// runs Prisma 7.10.1's `studio --url`, installed on first use into .tools/studio
// and run from there so its config rules never meet the 6.x project's.
// Database: DATABASE_URL, else the embedded PostgreSQL under DATA_DIR (.data),
// with pending migrations applied.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const STUDIO_PRISMA = '7.10.1';
const root = fileURLToPath(new URL('..', import.meta.url));
const toolDir = path.join(root, '.tools/studio');
const port = process.env.STUDIO_PORT || '5555';

function installStudio() {
  const pkg = path.join(toolDir, 'node_modules/prisma/package.json');
  if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).version === STUDIO_PRISMA) return;
  console.log(`Installing prisma@${STUDIO_PRISMA} into .tools/studio (once) ...`);
  mkdirSync(toolDir, { recursive: true });
  const manifest = { private: true, dependencies: { prisma: STUDIO_PRISMA } };
  writeFileSync(path.join(toolDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  execFileSync('npm', ['install', '--prefix', toolDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

installStudio();
const { ensureDatabase } = await tsImport('../packages/db/src/embedded-postgres.ts', import.meta.url);
const db = await ensureDatabase({
  databaseUrl: process.env.DATABASE_URL || undefined,
  dataDir: path.resolve(process.env.DATA_DIR ?? path.join(root, '.data')),
});
let exitCode = 1;
try {
  if (db.embedded) {
    const { migrateDeploy } = await tsImport('../packages/db/src/migrate.ts', import.meta.url);
    await migrateDeploy(db.url);
  }
  console.log(`Prisma Studio on http://localhost:${port} (Ctrl-C to stop)`);
  exitCode = await new Promise((resolve, reject) => {
    const child = spawn(
      path.join(toolDir, 'node_modules/.bin/prisma'),
      ['studio', '--url', db.url, '--browser', 'none', '--port', port],
      { cwd: toolDir, stdio: 'inherit', env: { ...process.env, CHECKPOINT_DISABLE: '1' } },
    );
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
  });
} finally {
  await db.stop();
}
process.exit(exitCode);
