import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // GPU tests run on Mesa's software rasteriser on a couple of CPU cores: be patient.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn is a native addon: one process per test file keeps devices isolated.
    pool: 'forks',
  },
});
