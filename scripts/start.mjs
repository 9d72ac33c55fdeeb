// `npm start`: set everything up on a fresh clone, then serve the app.
// Installs what is missing, generates the Prisma client, builds the web app
// when its sources changed, and runs the server (which starts the embedded
// PostgreSQL unless DATABASE_URL is set, and applies migrations).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
execFileSync('node', [path.join(root, 'scripts/ensure.mjs')], { cwd: root, stdio: 'inherit', env });
if (!dev) {
  // turbo caches the build: it only rebuilds when the web app or its packages changed.
  console.log('> building the web app');
  execFileSync(path.join(root, 'node_modules/.bin/turbo'), ['run', 'build', '--filter=@chat/web', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
}
const args = [path.join(root, 'apps/web/server.ts'), ...(dev ? ['--dev'] : [])];
const server = spawn(path.join(root, 'node_modules/.bin/tsx'), args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...env, NODE_ENV: dev ? 'development' : 'production' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
if (!existsSync(path.join(root, '.data')) && !process.env.DATABASE_URL) {
  console.log('> first start: the embedded PostgreSQL will be created under .data/');
}
