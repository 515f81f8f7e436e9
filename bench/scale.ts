// Scale of the program (benchmark, not a test): generated ssh-mode stacks of N nodes and 3N apps
// (3 or 4 replicas each: about 1000 replicas at 100 nodes). For each N, prints seconds and peak
// memory of the pure core (config → model → placement → rendered files, in a fresh process) and
// of a real `pulumi preview` (CLI, language host, program and plugins: the whole process tree).
// Nothing is dialed: the hosts do not exist, and a preview runs no command and builds no image.
//
//   npm run -s bench:scale [-- 25 50 100]
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const log = (s: string) => process.stderr.write(`bench:scale: ${s}\n`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The stack config of a cloud with `n` nodes and 3n apps. */
export function scaleConfig(n: number, keyPath: string): Record<string, any> {
    const nodes = Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, address: `10.20.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}` }));
    const apps = Array.from({ length: 3 * n }, (_, i) => ({
        name: `app${String(i + 1).padStart(3, "0")}`,
        build: "apps/simplewebapp1",
        port: 8080,
        replicas: i % 3 === 0 ? 4 : 3,
        memory: "64m",
    }));
    return {
        "matrix:mode": "ssh",
        "matrix:network": { cidr: "10.20.0.0/16" },
        "matrix:ssh": { user: "root", privateKey: { path: keyPath } },
        "matrix:manager": { name: "manager", address: "10.20.0.1" },
        "matrix:nodes": nodes,
        "matrix:applications": apps,
    };
}

/** The pure core on one config, in this process (run in a child: a fresh heap per size). */
function core(n: number, keyPath: string) {
    const t0 = process.hrtime.bigint();
    const { buildModel } = require("../core/config");
    const { nodeEnv } = require("../env");
    const render = require("../core/render");
    const loaded = process.hrtime.bigint();
    const raw = Object.fromEntries(Object.entries(scaleConfig(n, keyPath)).map(([k, v]) => [k.slice("matrix:".length), v]));
    const model = buildModel(raw, nodeEnv(ROOT, () => false));
    const files = [render.renderVcl(model), render.renderDnsmasqConf(model), render.renderDnsHosts(model), render.renderDaemonJson(model), render.renderRegistryConfig(model)];
    const done = process.hrtime.bigint();
    process.stdout.write(JSON.stringify({
        seconds: round(Number(done - loaded) / 1e9, 3),
        loadSeconds: round(Number(loaded - t0) / 1e9, 3),
        peakMiB: round(process.resourceUsage().maxRSS / 1024, 1),
        replicas: model.applications.reduce((s: number, a: any) => s + a.replicas.length, 0),
        vclLines: files[0].split("\n").length,
    }) + "\n");
}

/** Resident memory (MiB) of a process and its descendants, RSS and PSS, and how many of them run each plugin. */
function tree(rootPid: number): { rssMiB: number; pssMiB: number; plugins: Record<string, number> } {
    const ps = spawnSync("ps", ["-e", "-o", "pid=,ppid=,rss=,args="], { encoding: "utf8" }).stdout;
    const rows = ps.trim().split("\n").map((l) => l.trim().split(/\s+/)).map(([pid, ppid, rss, cmd]) => ({ pid: Number(pid), ppid: Number(ppid), rss: Number(rss), comm: path.basename(cmd ?? "") }));
    const pids = new Set([rootPid]);
    for (let grew = true; grew; ) {
        grew = false;
        for (const r of rows) if (pids.has(r.ppid) && !pids.has(r.pid)) { pids.add(r.pid); grew = true; }
    }
    const mine = rows.filter((r) => pids.has(r.pid));
    const plugins: Record<string, number> = {};
    for (const r of mine) if (r.comm.startsWith("pulumi-resource") || r.comm.startsWith("pulumi-language")) plugins[r.comm] = (plugins[r.comm] ?? 0) + 1;
    // PSS counts a page shared by n processes (the plugin binaries' code, loaded once per plugin
    // kind) as 1/n in each: the tree's real footprint. RSS counts it in every process.
    const pss = (pid: number) => {
        try {
            return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
        } catch {
            return 0; // exited meanwhile
        }
    };
    return { rssMiB: mine.reduce((s, r) => s + r.rss, 0) / 1024, pssMiB: mine.reduce((s, r) => s + pss(r.pid), 0) / 1024, plugins };
}

async function preview(n: number, keyPath: string, backend: string) {
    const stack = `scale-${n}`;
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "matrix-scale", PULUMI_SKIP_UPDATE_CHECK: "true" };
    fs.writeFileSync(file, YAML.stringify({ config: scaleConfig(n, keyPath) }));
    try {
        const init = spawnSync("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: ROOT, env, encoding: "utf8" });
        if (init.status !== 0) throw new Error(`pulumi stack init ${stack}: ${init.stderr}`);
        const t0 = Date.now();
        const child = spawn("pulumi", ["preview", "--stack", stack, "--non-interactive", "--json"], { cwd: ROOT, env });
        let out = "";
        let err = "";
        let peak = 0;
        let peakPss = 0;
        let plugins: Record<string, number> = {};
        const sampler = setInterval(() => {
            const t = tree(child.pid!);
            peak = Math.max(peak, t.rssMiB);
            peakPss = Math.max(peakPss, t.pssMiB);
            for (const [k, v] of Object.entries(t.plugins)) plugins[k] = Math.max(plugins[k] ?? 0, v);
        }, 250);
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (err += c));
        const code: number = await new Promise((r) => child.on("close", r));
        clearInterval(sampler);
        const seconds = (Date.now() - t0) / 1000;
        if (code !== 0) throw new Error(`pulumi preview ${stack} failed (${code}): ${err.slice(-2000)}${out.slice(-2000)}`);
        const summary = JSON.parse(out).changeSummary;
        return { seconds: round(seconds, 1), peakRssMiB: Math.round(peak), peakPssMiB: Math.round(peakPss), resources: summary.create, pluginProcesses: plugins };
    } finally {
        spawnSync("pulumi", ["stack", "rm", stack, "--yes", "--force", "--non-interactive"], { cwd: ROOT, env });
        fs.rmSync(file, { force: true });
    }
}

async function main() {
    const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-scale-"));
    const keyPath = path.join(work, "id_ed25519");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyPath]);
    const backend = path.join(work, "state");
    fs.mkdirSync(backend);
    const rows = [];
    try {
        for (const n of sizes.length ? sizes : [25, 50, 100]) {
            log(`${n} nodes, ${3 * n} apps: core`);
            const c = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, "--core", String(n), keyPath], { cwd: ROOT, encoding: "utf8" });
            if (c.status !== 0) throw new Error(`core with ${n} nodes failed: ${c.stderr}`);
            const coreResult = JSON.parse(c.stdout.trim().split("\n").pop()!);
            log(`${n} nodes: pulumi preview`);
            rows.push({ nodes: n, apps: 3 * n, replicas: coreResult.replicas, core: coreResult, preview: await preview(n, keyPath, backend) });
        }
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
    process.stdout.write(JSON.stringify({ cores: os.cpus().length, scale: rows }) + "\n");
}

// Run as a script only: bench/core.ts imports scaleConfig.
if (require.main !== module) {
} else if (process.argv[2] === "--core") core(Number(process.argv[3]), process.argv[4]);
else main().catch((e) => {
    process.stderr.write(`bench:scale: ${e.message}\n`);
    process.exit(1);
});
