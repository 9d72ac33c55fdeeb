// `npm test`: every suite, on a fresh clone, with no server started by hand.
// ensure (install + generate) -> typecheck and build (turbo) -> vitest (unit,
// database, HTTP, crash, multi-instance, browser) -> verify-replay over the
// databases the tests left behind is done inside the suite (tests/replay).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });
const bin = (name) => path.join(root, 'node_modules/.bin', name);

try {
  run('node', [path.join(root, 'scripts/ensure.mjs')]);
  run(bin('turbo'), ['run', 'typecheck', 'build', '--output-logs=errors-only']);
  run(bin('vitest'), ['run', ...process.argv.slice(2)]);
} catch (error) {
  process.exit(typeof error.status === 'number' ? error.status : 1);
}
