// setupFiles of the jest project `slow` (npm run test:slow): see test/suite.ts.
process.env.MATRIX_TEST_SUITE = "slow";
