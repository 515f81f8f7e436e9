// Two suites: `unit` is fast and needs no Docker; `e2e` applies the dev stack to a real lab.
const tsJest = { "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false } }] };
module.exports = {
    projects: [
        {
            displayName: "unit",
            testEnvironment: "node",
            transform: tsJest,
            testMatch: ["<rootDir>/test/core/**/*.test.ts", "<rootDir>/test/components/**/*.test.ts", "<rootDir>/test/varnish/**/*.test.ts", "<rootDir>/test/cli/**/*.test.ts", "<rootDir>/test/monitor/**/*.test.ts"],
        },
        {
            displayName: "e2e",
            testEnvironment: "node",
            transform: tsJest,
            testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
        },
    ],
};
