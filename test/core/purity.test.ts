// The core is pure: config schema -> validated model -> placement -> rendered files. What it
// needs from the outside (files, directory hashes, base image ids) is gathered by the program
// (env.ts) and passed in. This scan fails when a file of core/ imports a module that reaches
// the outside world, or anything of Pulumi.
import * as fs from "fs";
import * as path from "path";

const CORE = path.resolve(__dirname, "..", "..", "core");
const FORBIDDEN = /^(node:)?(child_process|fs|fs\/promises|net|http|https|http2|dgram|dns|tls|os|worker_threads|cluster)$|^@pulumi\//;
/**
 * The one exception, and why: the templates (templates/*.hbs) are part of the program, as its .ts
 * modules are; core/templates.ts loads each once, from beside the code, whatever the machine or
 * the config (loading code, not reading the outside world).
 */
const ALLOWED: Record<string, string[]> = { "templates.ts": ["fs"] };

/** Every module a file imports or requires (static, dynamic and `import x = require()` forms). */
function imports(text: string): string[] {
    const found = new Set<string>();
    for (const re of [/\bfrom\s+["']([^"']+)["']/g, /\bimport\s+["']([^"']+)["']/g, /\brequire\(\s*["']([^"']+)["']\s*\)/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g])
        for (const m of text.matchAll(re)) found.add(m[1]);
    return [...found];
}

test("no file in core/ imports child_process, fs, net, http(s), os or @pulumi (only templates.ts loads its .hbs files)", () => {
    const files = fs.readdirSync(CORE).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(10);
    const bad = files.flatMap((f) =>
        imports(fs.readFileSync(path.join(CORE, f), "utf8"))
            .filter((m) => FORBIDDEN.test(m) && !(ALLOWED[f] ?? []).includes(m))
            .map((m) => `core/${f} imports ${m}`),
    );
    expect(bad).toEqual([]);
});

test("the scan sees every form of import", () => {
    expect(imports(`import * as fs from "fs";\nimport { x } from 'child_process';\nconst n = require("net");\nimport "http";\nawait import("@pulumi/pulumi");`).sort()).toEqual(["@pulumi/pulumi", "child_process", "fs", "http", "net"]);
});
