// Benchmark of the pure core (not a test): config -> validated model -> placement -> rendered
// files, on bench/scale.ts's generated ssh-mode stacks (N nodes, 3N apps of 3 or 4 replicas:
// about 1000 replicas at 100 nodes), each size in a fresh process, as `pulumi up` runs the
// program once. What the core asks this machine (files, directory hashes, base image ids:
// env.ts, answered once each) is timed apart from the core. No Docker engine is needed: an
// engine that does not answer only leaves the base image's id unknown. Prints one JSON object.
//
//   npm run -s bench:core [-- 100 200]
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scaleConfig } from "./scale";

const ROOT = path.resolve(__dirname, "..");
/** The targets: seconds of the core at this many nodes. */
const TARGETS: Record<number, number> = { 100: 1, 200: 2 };
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;

/** One size, in this process. */
function one(n: number, keyPath: string) {
    const t0 = process.hrtime.bigint();
    const { buildModel } = require("../core/config");
    const { renderFiles, renderVcl } = require("../core/render");
    const { renderMonitorConfig } = require("../core/monitoring");
    const { dockerImageId, nodeEnv } = require("../env");
    const loaded = process.hrtime.bigint();
    // Every question the core asks the machine, timed and counted.
    const inspected: string[] = [];
    const env = nodeEnv(ROOT, () => false, (ref: string) => (inspected.push(ref), dockerImageId(ref)));
    let outside = 0n;
    const calls: Record<string, number> = {};
    for (const [k, f] of Object.entries(env)) {
        if (typeof f !== "function") continue;
        (env as any)[k] = (...a: unknown[]) => {
            const s = process.hrtime.bigint();
            try {
                return (f as (...a: unknown[]) => unknown)(...a);
            } finally {
                outside += process.hrtime.bigint() - s;
                calls[k] = (calls[k] ?? 0) + 1;
            }
        };
    }
    const raw = Object.fromEntries(Object.entries(scaleConfig(n, keyPath)).map(([k, v]) => [k.slice("matrix:".length), v]));
    const start = process.hrtime.bigint();
    const model = buildModel(raw, env);
    const modelled = process.hrtime.bigint();
    const files = renderFiles(model);
    const vcl = renderVcl(model);
    const monitor = renderMonitorConfig(model, {});
    const done = process.hrtime.bigint();
    const coreSeconds = seconds(start, done) - Number(outside) / 1e9;
    const replicas = model.applications.reduce((s: number, a: { replicas: unknown[] }) => s + a.replicas.length, 0);
    process.stdout.write(
        JSON.stringify({
            nodes: n,
            apps: model.applications.length,
            replicas,
            coreSeconds: round(coreSeconds),
            modelSeconds: round(seconds(start, modelled) - Number(outside) / 1e9),
            renderSeconds: round(seconds(modelled, done)),
            outsideSeconds: round(Number(outside) / 1e9),
            /** Questions the core asked, and the `docker image inspect` runs that answered them (once per distinct base image). */
            asked: calls,
            dockerImageInspects: inspected.length,
            loadSeconds: round(seconds(t0, loaded)),
            peakMiB: round(process.resourceUsage().maxRSS / 1024, 1),
            renderedBytes: Object.values(files).reduce((s: number, f) => s + (typeof f === "string" ? f.length : 0), 0) + vcl.length + monitor.length,
            ...(TARGETS[n] !== undefined ? { targetSeconds: TARGETS[n], withinTarget: coreSeconds <= TARGETS[n] } : {}),
        }) + "\n",
    );
}

function main() {
    const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-core-"));
    // The config names a private key file; the core only checks that it exists.
    const keyPath = path.join(work, "id_ed25519");
    fs.writeFileSync(keyPath, "not a key: the core checks the file exists\n", { mode: 0o600 });
    try {
        const rows = (sizes.length ? sizes : [100, 200]).map((n) => {
            const c = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), __filename, "--one", String(n), keyPath], { cwd: ROOT, encoding: "utf8" });
            if (c.status !== 0) throw new Error(`core with ${n} nodes failed: ${c.stderr}`);
            return JSON.parse(c.stdout.trim().split("\n").pop()!);
        });
        process.stdout.write(JSON.stringify({ cores: os.cpus().length, loadAverage: os.loadavg().map((x) => round(x, 2)), core: rows }) + "\n");
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

if (process.argv[2] === "--one") one(Number(process.argv[3]), process.argv[4]);
else
    try {
        main();
    } catch (e) {
        process.stderr.write(`bench:core: ${(e as Error).message}\n`);
        process.exit(1);
    }
