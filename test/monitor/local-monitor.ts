// The real matrix-monitor binary (built by scripts/build-cadvisor.sh) on 127.0.0.1, with a config
// rendered by core from the sample model, polling FAKES (labelled as such): one small HTTP server
// per node answering cAdvisor's REST paths with the real-shaped JSON of monitor/testdata, and
// `varnishadm`/`varnishstat` first on the monitor's PATH printing Varnish 7's JSON shapes.
// A node "dies": its fake cAdvisor stops answering (requests hang, as to a frozen host) and the
// fake router reports its backends sick and sends them nothing. Used by page.test.ts.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { monitorConfig, MonitorConfig } from "../../core/monitoring";
import { sampleModel } from "../core/fixtures";

const ROOT = path.resolve(__dirname, "../..");
const TESTDATA = path.join(ROOT, "monitor/testdata");
export const BINARY = path.join(ROOT, "images/monitor/matrix-monitor");
const VCL = "matrix_0123abcd";
/** Requests/s the fake router sends to each healthy replica. */
export const REPLICA_RPS = 4;
const testdata = (name: string) => JSON.parse(fs.readFileSync(path.join(TESTDATA, name), "utf8"));

export class LocalMonitor {
    /** Nodes whose fake cAdvisor hangs and whose backends the fake router reports sick. */
    readonly dead = new Set<string>();
    /** false: the fake varnishadm fails, as with varnishd gone. */
    routerAnswers = true;
    url = "";
    log = "";
    private work = "";
    private proc: ChildProcess | undefined;
    private servers: http.Server[] = [];
    private writer: NodeJS.Timeout | undefined;
    private sent: Record<string, number> = {};
    private lastWrite = Date.now();

    private constructor(readonly config: MonitorConfig) {}

    /** Build (cached by the hash of its sources, so never stale), start the fakes and the monitor, wait for it to answer. */
    static async start(intervalSeconds: number, port = 0): Promise<LocalMonitor> {
        const build = spawnSync("bash", [path.join(ROOT, "scripts/build-cadvisor.sh"), "monitor"], { encoding: "utf8", timeout: 240_000 });
        if (build.status !== 0) throw new Error(`scripts/build-cadvisor.sh monitor failed: ${build.error?.message ?? ""}${build.stderr}${build.stdout}`);
        const model = sampleModel();
        const config = monitorConfig(model, Object.fromEntries(model.applications.map((a, i) => [a.name, { version: `v${i + 1}-0123abcd`, image: `10.10.10.1:5000/${a.name}@sha256:${String(i + 1).repeat(64)}` }])));
        const m = new LocalMonitor(config);
        try {
            await m.run(intervalSeconds, port || (await freePort()));
        } catch (e) {
            await m.stop();
            throw e;
        }
        return m;
    }

    private async run(intervalSeconds: number, port: number) {
        this.work = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-page-"));
        const c = this.config;
        c.listen = `127.0.0.1:${port}`;
        c.intervalSeconds = intervalSeconds;
        c.historySeconds = 120 * intervalSeconds;
        c.varnish.workdir = path.join(this.work, "varnishd");
        for (const h of c.hosts) {
            const s = this.fakeCadvisor(h.name);
            this.servers.push(s);
            h.cadvisor = `http://127.0.0.1:${await listen(s)}`;
        }
        const bin = path.join(this.work, "bin");
        fs.mkdirSync(bin);
        for (const [tool, file] of [["varnishadm", "backend-list.json"], ["varnishstat", "varnishstat.json"]]) {
            fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nexec cat '${path.join(bin, file)}'\n`, { mode: 0o755 });
        }
        this.writeRouterState(bin);
        this.writer = setInterval(() => this.writeRouterState(bin), 200);
        const configFile = path.join(this.work, "monitor.json");
        fs.writeFileSync(configFile, JSON.stringify(c));

        const proc = spawn(BINARY, ["-config", configFile, "-static", path.dirname(BINARY)], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"] });
        this.proc = proc;
        proc.stdout!.on("data", (d) => (this.log += d));
        proc.stderr!.on("data", (d) => (this.log += d));
        this.url = `http://127.0.0.1:${port}/`;
        const t0 = Date.now();
        for (;;) {
            try {
                if ((await fetch(`${this.url}healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
            } catch {
                /* not listening yet */
            }
            if (proc.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`matrix-monitor did not answer on ${this.url}: ${this.log}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    async stop() {
        if (this.writer) clearInterval(this.writer);
        if (this.proc?.pid && this.proc.exitCode === null) this.proc.kill("SIGTERM");
        for (const s of this.servers) {
            s.closeAllConnections(); // the hung requests of a dead node
            s.close();
        }
        if (this.work) fs.rmSync(this.work, { recursive: true, force: true });
    }

    /** FAKE cAdvisor for one node: testdata answers, the node's replicas as docker containers; hangs when the node is dead. */
    private fakeCadvisor(node: string): http.Server {
        const attributes = testdata("attributes.json");
        const machine = testdata("machinestats.json");
        const docker = testdata("docker-stats.json");
        // The testdata's two containers: an app replica (matrix.* labels), the template for ours, and cAdvisor itself.
        const replicaKey = Object.keys(docker).find((k) => docker[k].spec.labels["matrix.app"])!;
        const cadvisorKey = Object.keys(docker).find((k) => k !== replicaKey)!;
        let requests = 0;
        return http.createServer((req, res) => {
            if (this.dead.has(node)) return; // no answer: the monitor's client times out, as on a frozen host
            const u = new URL(req.url ?? "/", "http://127.0.0.1");
            let body: unknown;
            if (u.pathname === "/api/v2.0/attributes") body = attributes;
            else if (u.pathname === "/api/v2.1/machinestats") {
                // A working set that grows by 1 MiB per answer: the page must show the new value.
                const m = structuredClone(machine);
                m[m.length - 1].memory.working_set += ++requests * 1048576;
                body = m;
            } else if (u.pathname === "/api/v2.1/stats/" && u.searchParams.get("type") === "docker") {
                const out: Record<string, unknown> = { [cadvisorKey]: docker[cadvisorKey] };
                for (const app of this.config.apps) {
                    if (!app.replicas.some((r) => r.node === node)) continue;
                    const id = Buffer.from(`${app.name}-${node}`).toString("hex").padEnd(64, "0").slice(0, 64);
                    const c = structuredClone(docker[replicaKey]);
                    c.spec.aliases = [`matrix-${app.name}-${node}-${app.version}`, id];
                    c.spec.labels = { "matrix.cloud": this.config.cloud, "matrix.app": app.name, "matrix.node": node };
                    c.spec.image = app.image;
                    out[`/docker/${id}`] = c;
                }
                body = out;
            } else {
                res.writeHead(404).end();
                return;
            }
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
        });
    }

    /** FAKE router: what `varnishadm backend.list -j` and `varnishstat -1 -j` would print now. */
    private writeRouterState(bin: string) {
        const replicas = this.config.apps.flatMap((a) => a.replicas);
        const backends = Object.fromEntries(replicas.map((r) => [`${VCL}.${r.backend}`, {
            type: "backend",
            admin_health: "probe",
            probe_message: this.dead.has(r.node) ? [0, 3, "sick"] : [3, 3, "healthy"],
            last_change: this.lastWrite / 1000,
        }]));
        // Requests to each healthy replica (a sick one gets none), counted as Varnish does.
        const dt = (Date.now() - this.lastWrite) / 1000;
        this.lastWrite = Date.now();
        for (const r of replicas) if (!this.dead.has(r.node)) this.sent[r.backend] = (this.sent[r.backend] ?? 0) + REPLICA_RPS * dt;
        const counters: Record<string, { value: number }> = { "MAIN.client_req": { value: Math.floor(Object.values(this.sent).reduce((a, b) => a + b, 0)) } };
        for (const r of replicas) counters[`VBE.${VCL}.${r.backend}.req`] = { value: Math.floor(this.sent[r.backend] ?? 0) };
        const put = (name: string, body: unknown) => {
            fs.writeFileSync(path.join(bin, `${name}.tmp`), JSON.stringify(body));
            fs.renameSync(path.join(bin, `${name}.tmp`), path.join(bin, name)); // atomic: never half a file
        };
        if (this.routerAnswers) put("backend-list.json", [3, ["backend.list", "-j"], Date.now() / 1000, backends]);
        else fs.rmSync(path.join(bin, "backend-list.json"), { force: true }); // varnishadm fails, as with varnishd gone
        put("varnishstat.json", { version: 1, timestamp: new Date().toISOString(), counters });
    }
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
        s.on("error", reject);
    });
}

const listen = (s: http.Server) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port)));
