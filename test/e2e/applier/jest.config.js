// Temporary jest config for running the applier tests on their own:
//   npx jest -c test/e2e/applier/jest.config.js [--testPathPatterns unit]
// (The top-level config will run them as part of the `e2e` project.)
const path = require("path");
module.exports = {
    rootDir: path.resolve(__dirname, "../../.."),
    roots: ["<rootDir>/test/e2e/applier"],
    testMatch: ["**/*.test.ts"],
    testEnvironment: "node",
    transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
    testTimeout: 300000,
    maxWorkers: 1,
};
