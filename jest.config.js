// Three suites, none of which needs a build output (the monitoring binaries are built by `up`):
//  - unit (npm test): fast, no Docker; property tests with bounded runs;
//  - slow (npm run test:slow): the same property tests with long runs (test/suite.ts says which
//    suite runs: numRuns(fast, slow)); no Docker either. CI runs it beside the unit suite;
//  - e2e (npm run test:e2e): applies the dev stack to a real lab.
const tsJest = { "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false } }] };
const UNIT = ["core", "components", "varnish", "cli", "monitor"].map((d) => `<rootDir>/test/${d}/**/*.test.ts`);
/** Property tests, run by both suites: bounded in unit, long in slow. */
const PROPERTIES = ["<rootDir>/test/core/random-config.test.ts", "<rootDir>/test/components/random-config.test.ts", "<rootDir>/test/varnish/random-config.test.ts"];
module.exports = {
    projects: [
        {
            displayName: "unit",
            testEnvironment: "node",
            transform: tsJest,
            testMatch: UNIT,
        },
        {
            displayName: "slow",
            testEnvironment: "node",
            transform: tsJest,
            setupFiles: ["<rootDir>/test/slow-suite.ts"],
            testMatch: PROPERTIES,
        },
        {
            displayName: "e2e",
            testEnvironment: "node",
            transform: tsJest,
            testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
        },
    ],
};
