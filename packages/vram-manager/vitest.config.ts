import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

export default mergeConfig(packageTestConfig('vram-manager'), {
  test: { setupFiles: ['test/setup.ts'] },
});
