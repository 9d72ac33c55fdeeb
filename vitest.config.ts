import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts', 'apps/web/lib/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'tests/bench/**'],
    globalSetup: ['tests/support/global-database.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for what a loaded machine (CI, two cores, servers and Chromium) may take a while to show:
    // its default second made the browser suites flaky (code highlighting that arrives after the text).
    expect: { poll: { timeout: 15_000 } },
    // Two cores: server processes spawned by tests need room to run.
    maxWorkers: 2,
  },
});
