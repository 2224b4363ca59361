import { defineConfig } from 'vitest/config';

const ALL_TEST_FILES = [
  'packages/*/test/**/*.test.ts',
  'services/*/test/**/*.test.ts',
  'test/**/*.test.ts',
];
/** Files named `*.unit.test.ts` need no broker, database, network or child process. */
const UNIT_TEST_FILES = ALL_TEST_FILES.map((glob) => glob.replace('*.test.ts', '*.unit.test.ts'));

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `source` export condition),
  // so tests never run against a stale build.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  // Vitest runs global setup (which imports workspace packages) in this environment.
  environments: { __vitest__: { resolve: { conditions: ['source'] } } },
  test: {
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT_TEST_FILES, testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ALL_TEST_FILES,
          exclude: UNIT_TEST_FILES,
          // Finds (or starts) the real RabbitMQ and PostgreSQL; only this lane needs them.
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // A browser or a broker on a busy two-core machine can take seconds to show what a
          // quiet one shows at once; a poll gives up only when something is really wrong.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
