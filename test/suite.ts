// Which suite is running: `unit` (npm test: fast, bounded property runs) or `slow`
// (npm run test:slow: the same property tests with long runs).
// The slow project's setup (test/slow-suite.ts) sets MATRIX_TEST_SUITE.
export const SLOW_SUITE = process.env.MATRIX_TEST_SUITE === "slow";

/** fast-check's number of runs: bounded in the fast suite, long in the slow one. */
export const numRuns = (fast: number, slow: number): number => (SLOW_SUITE ? slow : fast);
