// `node scripts/screens.mjs`: copies the README's screens from the browser suite's
// screenshots (test-results/screens/, written by tests/browser/*.browser.test.ts) to docs/screens/.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENS = ['desktop-light-chat', 'desktop-dark-chat', 'phone-dark-chat', 'phone-dark-drawer', 'desktop-light-chat-settings', 'desktop-light-queued', 'desktop-light-sign-in'];
mkdirSync(path.join(root, 'docs/screens'), { recursive: true });
const missing = [];
for (const name of SCREENS) {
  const from = path.join(root, 'test-results/screens', `${name}.png`);
  if (!existsSync(from)) missing.push(name);
  else copyFileSync(from, path.join(root, 'docs/screens', `${name}.png`));
}
if (missing.length) {
  console.error(`not in test-results/screens (run the browser suite first): ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`copied ${SCREENS.length} screens to docs/screens`);
