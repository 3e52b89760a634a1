import { defineConfig } from 'vitest/config';
import { SYSTEM_GLOBS } from './test/system-tests.js';

// Two projects (test/system-tests.ts says which file is which): `unit`, pure and fast (`npm run test:unit`),
// and `system`, which starts processes, servers and worker threads on a build made once per run
// (test/helpers/build-once.ts). `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/helpers/property-seed.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...SYSTEM_GLOBS],
          // Unit test files are pure: they share one module cache per worker instead of importing the whole
          // tree again for each file (half the CPU time of the project).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: [...SYSTEM_GLOBS],
          globalSetup: ['test/helpers/build-once.ts'],
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
