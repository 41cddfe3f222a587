/** Type checking is done once by `tsc` in `npm test`; jest only transpiles. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  // Exit with process.exit once the results are in. On this project's 2-core machines jest runs
  // every file in band, in its own one process, and twice (a clean clone's CI run, and a run in
  // main with --detectOpenHandles) that process then spun at 100% CPU forever inside Node's exit-time cleanup
  // (gdb: node::Environment::CleanupHandles → uv_run, every libuv thread idle; --detectOpenHandles
  // reported nothing), the shape of nodejs/node#47748. process.exit skips that cleanup. Leaks
  // are still ours to find: each test file closes what it starts, and the file-by-file runs
  // (`npx jest -i FILE`) exit on their own.
  forceExit: true,
};
