import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const reportsDir = fileURLToPath(new URL('./reports/junit/', import.meta.url));

/**
 * The test config every package shares: workspace packages resolve to their TypeScript sources
 * (the `@vramseal/source` export condition), and each run writes a JUnit report that .ci/run
 * counts into its one `N passed, N failed` line.
 */
export function packageTestConfig(name: string) {
  return defineConfig({
    resolve: { conditions: ['@vramseal/source'] },
    ssr: { resolve: { conditions: ['@vramseal/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', 'junit'],
      outputFile: { junit: `${reportsDir}vitest-${name}.xml` },
      testTimeout: 30_000,
    },
  });
}
