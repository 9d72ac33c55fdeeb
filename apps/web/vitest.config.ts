import { defineConfig } from 'vitest/config';

/** Unit tests of the web app's pure logic: `npx vitest run --config apps/web/vitest.config.ts`. */
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['lib/**/*.test.ts'],
  },
});
