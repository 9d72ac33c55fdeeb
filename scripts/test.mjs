// `npm test`: every suite, on a fresh clone, with no server started by hand.
// ensure (install + generate) -> typecheck and build (turbo) -> vitest (unit,
// database, HTTP, SSE, crash, multi-instance, browser), then one plain
// closing line with the counts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
const bin = (name) => path.join(root, 'node_modules/.bin', name);

// `--no-build`: the second CI leg (another Node on the same checkout) reuses the first leg's install and build.
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const vitestArgs = args.filter((a) => a !== '--no-build');

try {
  if (!noBuild) build();
} catch (error) {
  process.exit(typeof error.status === 'number' ? error.status : 1);
}

function build() {
  execFileSync('node', [path.join(root, 'scripts/ensure.mjs')], { cwd: root, stdio: 'inherit', env });
  // @chat/client is consumed from its build (dist/, with the router's types bundled): tests and the root type-check import it.
  execFileSync('node', [path.join(root, 'packages/client/build.mjs')], { cwd: root, stdio: 'inherit', env });
  execFileSync(bin('turbo'), ['run', 'typecheck', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit', env });
  execFileSync(bin('tsc'), ['--noEmit', '-p', '.'], { cwd: root, stdio: 'inherit', env });
}

const report = path.join(os.tmpdir(), `vitest-report-${process.pid}.json`);
const run = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs],
  { cwd: root, stdio: 'inherit', env },
);
if (existsSync(report)) {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'));
  rmSync(report, { force: true });
  console.log(`\n${process.env.TEST_LEG ? `${process.env.TEST_LEG} (node ${process.version}): ` : ''}${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped`);
}
process.exit(run.status ?? 1);
