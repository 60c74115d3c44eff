import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

// The tests run the built binary (dist/bin.js) as a subprocess; global setup builds it first.
export default mergeConfig(packageTestConfig('cli'), {
  test: { globalSetup: ['test/global-setup.ts'] },
});
