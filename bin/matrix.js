#!/usr/bin/env node
// `matrix`: runs cli/main.ts from its TypeScript source. ts-node in transpile-only mode starts in
// about half a second with no build step (no type check at run time: `npm run build` does that).
"use strict";
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("../cli/main").run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
