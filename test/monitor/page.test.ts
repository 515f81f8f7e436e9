// The status page in a real browser, without Docker: the real matrix-monitor binary (built by
// scripts/build-cadvisor.sh) on 127.0.0.1, with a config rendered by core from the sample model,
// polling fakes (labelled as such): one small HTTP server per node answering cAdvisor's REST
// paths with the real-shaped JSON of monitor/testdata, and `varnishadm`/`varnishstat` on PATH
// printing Varnish 7's JSON shapes. Headless Chromium (lab/driver/browser.ts) reads the page.
// Node death is simulated by a fake cAdvisor that stops answering (requests hang, as to a frozen
// host) while the fake router reports that node's backends sick. Everything stays on 127.0.0.1.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Page } from "playwright-core";
import { monitorConfig, MonitorConfig } from "../../core/monitoring";
import { launchBrowser, LoopbackBrowser, open, screenshot } from "../../lab/driver/browser";
import { PageView, readPage, waitForPage } from "../../lab/driver/status-page";
import { sampleModel } from "../core/fixtures";

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, "../..");
const TESTDATA = path.join(ROOT, "monitor/testdata");
const BINARY = path.join(ROOT, "images/monitor/matrix-monitor");
const INTERVAL_S = 1;
const VCL = "matrix_0123abcd";
const testdata = (name: string) => JSON.parse(fs.readFileSync(path.join(TESTDATA, name), "utf8"));

let work: string;
let config: MonitorConfig;
let monitor: ChildProcess | undefined;
let monitorLog = "";
let url: string;
let browser: LoopbackBrowser | undefined;
let page: Page;
let writer: NodeJS.Timeout | undefined;
const started = Date.now();
/** Nodes whose fake cAdvisor hangs and whose backends the fake router reports sick. */
const dead = new Set<string>();
let routerAnswers = true;
/** The fake router's request counters, by backend. */
const sent: Record<string, number> = {};
let lastWrite = Date.now();

/** FAKE cAdvisor for one node: testdata answers, the node's replicas as docker containers; hangs when the node is dead. */
function fakeCadvisor(node: string): http.Server {
    const attributes = testdata("attributes.json");
    const machine = testdata("machinestats.json");
    const docker = testdata("docker-stats.json");
    // The testdata's two containers: an app replica (matrix.* labels), the template for ours, and cAdvisor itself.
    const replicaKey = Object.keys(docker).find((k) => docker[k].spec.labels["matrix.app"])!;
    const cadvisorKey = Object.keys(docker).find((k) => k !== replicaKey)!;
    let requests = 0;
    return http.createServer((req, res) => {
        if (dead.has(node)) return; // no answer: the monitor's client times out, as on a frozen host
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
            for (const app of config.apps) {
                if (!app.replicas.some((r) => r.node === node)) continue;
                const id = Buffer.from(`${app.name}-${node}`).toString("hex").padEnd(64, "0").slice(0, 64);
                const c = structuredClone(docker[replicaKey]);
                c.spec.aliases = [`matrix-${app.name}-${node}-${app.version}`, id];
                c.spec.labels = { "matrix.cloud": config.cloud, "matrix.app": app.name, "matrix.node": node };
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

/** FAKE router: what `varnishadm backend.list -j` and `varnishstat -1 -j` would print, rewritten as the test goes. */
function writeRouterState(fake: string) {
    const replicas = config.apps.flatMap((a) => a.replicas.map((r) => ({ app: a.name, ...r })));
    const backends = Object.fromEntries(replicas.map((r) => [`${VCL}.${r.backend}`, {
        type: "backend",
        admin_health: "probe",
        probe_message: dead.has(r.node) ? [0, 3, "sick"] : [3, 3, "healthy"],
        last_change: started / 1000,
    }]));
    // 4 requests/s to each healthy replica (a sick one gets none), counted as Varnish does.
    const dt = (Date.now() - lastWrite) / 1000;
    lastWrite = Date.now();
    for (const r of replicas) if (!dead.has(r.node)) sent[r.backend] = (sent[r.backend] ?? 0) + 4 * dt;
    const counters: Record<string, { value: number }> = { "MAIN.client_req": { value: Math.floor(Object.values(sent).reduce((a, b) => a + b, 0)) } };
    for (const r of replicas) counters[`VBE.${VCL}.${r.backend}.req`] = { value: Math.floor(sent[r.backend] ?? 0) };
    const put = (name: string, body: unknown) => {
        fs.writeFileSync(path.join(fake, `${name}.tmp`), JSON.stringify(body));
        fs.renameSync(path.join(fake, `${name}.tmp`), path.join(fake, name)); // atomic: never half a file
    };
    if (routerAnswers) put("backend-list.json", [3, ["backend.list", "-j"], Date.now() / 1000, backends]);
    else fs.rmSync(path.join(fake, "backend-list.json"), { force: true }); // varnishadm fails, as with varnishd gone
    put("varnishstat.json", { version: 1, timestamp: new Date().toISOString(), counters });
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
const servers: http.Server[] = [];

beforeAll(async () => {
    // The monitor as CI builds it (cached by the hash of its sources, so never stale).
    const build = spawnSync("bash", [path.join(ROOT, "scripts/build-cadvisor.sh"), "monitor"], { encoding: "utf8", timeout: 240_000 });
    if (build.status !== 0) throw new Error(`scripts/build-cadvisor.sh monitor failed: ${build.error?.message ?? ""}${build.stderr}${build.stdout}`);

    work = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-page-"));
    const model = sampleModel();
    config = monitorConfig(model, Object.fromEntries(model.applications.map((a, i) => [a.name, { version: `v${i + 1}-0123abcd`, image: `10.10.10.1:5000/${a.name}@sha256:${String(i + 1).repeat(64)}` }])));
    const port = await freePort();
    config.listen = `127.0.0.1:${port}`;
    config.intervalSeconds = INTERVAL_S;
    config.historySeconds = 120;
    config.varnish.workdir = path.join(work, "varnishd");
    for (const h of config.hosts) {
        const s = fakeCadvisor(h.name);
        servers.push(s);
        h.cadvisor = `http://127.0.0.1:${await listen(s)}`;
    }
    // FAKE varnishadm / varnishstat first on the monitor's PATH.
    const fake = path.join(work, "bin");
    fs.mkdirSync(fake);
    for (const [tool, file] of [["varnishadm", "backend-list.json"], ["varnishstat", "varnishstat.json"]]) {
        fs.writeFileSync(path.join(fake, tool), `#!/bin/sh\nexec cat '${path.join(fake, file)}'\n`, { mode: 0o755 });
    }
    writeRouterState(fake);
    writer = setInterval(() => writeRouterState(fake), 200);
    const configFile = path.join(work, "monitor.json");
    fs.writeFileSync(configFile, JSON.stringify(config));

    monitor = spawn(BINARY, ["-config", configFile, "-static", path.dirname(BINARY)], { env: { ...process.env, PATH: `${fake}:${process.env.PATH}` }, stdio: ["ignore", "pipe", "pipe"] });
    monitor.stdout!.on("data", (d) => (monitorLog += d));
    monitor.stderr!.on("data", (d) => (monitorLog += d));
    url = `http://127.0.0.1:${port}/`;
    const t0 = Date.now();
    for (;;) {
        try {
            if ((await fetch(`${url}healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
        } catch {
            /* not listening yet */
        }
        if (monitor.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`matrix-monitor did not answer on ${url}: ${monitorLog}`);
        await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchBrowser();
    page = await open(browser, url);
});

afterAll(async () => {
    if (writer) clearInterval(writer);
    await browser?.close();
    if (monitor?.pid && monitor.exitCode === null) monitor.kill("SIGTERM");
    for (const s of servers) {
        s.closeAllConnections(); // the hung requests of the dead node
        s.close();
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

const allUp = (v: PageView) => v.hosts.length === config.hosts.length && v.hosts.every((h) => h.state === "up") && v.replicas.length > 0 && v.replicas.every((r) => r.health === "healthy");

test("the page shows every node and app, replica health and versions, and draws its charts", async () => {
    const { view } = await waitForPage(page, "every host up, every replica healthy, charts drawn", (v) => allUp(v) && v.charts.length === 3 && v.charts.every((c) => c.width > 0 && c.height > 0), 20);
    expect(view.hosts.map((h) => h.name).sort()).toEqual(config.hosts.map((h) => h.name).sort());
    for (const h of view.hosts) {
        const host = config.hosts.find((c) => c.name === h.name)!;
        expect(h.cells).toEqual(expect.arrayContaining([host.name, "node", host.address, "up"]));
        expect(h.cells.join(" ")).toMatch(/\d+ MiB \/ \d+ MiB/); // memory, from cAdvisor's numbers
    }
    expect(view.apps).toEqual(config.apps.map((a) => ({ name: a.name, version: a.version, image: a.image, healthy: `${a.replicas.length}/${a.replicas.length}`, requestsPerSecond: expect.any(Number) })));
    expect(view.replicas.map((r) => `${r.app}@${r.node} ${r.health} ${r.nodeUp}`).sort()).toEqual(config.apps.flatMap((a) => a.replicas.map((r) => `${a.name}@${r.node} healthy true`)).sort());
    // The replica rows show their container's numbers (found by the matrix.app/matrix.node labels) and the router's probe.
    for (const r of view.replicas) expect(r.text).toMatch(/3\/3.*cores.*MiB/);
    expect(view.charts.map((c) => c.title)).toEqual(["CPU % per host", "memory % per host", "requests/s per app"]);
    expect(view.text).toMatch(/3\/3 hosts up · 4\/4 replicas healthy/);
    expect(view.text).toMatch(/router answering/);
    // Requests/s from the router's counters: 2 healthy replicas × 4/s per app.
    await waitForPage(page, "requests/s near 8 per app", (v) => v.apps.every((a) => Math.abs(a.requestsPerSecond - 8) <= 2), 5 * INTERVAL_S + 3);
    console.log(`status page (local): ${JSON.stringify({ charts: view.charts.map((c) => `${c.width}x${c.height}`), screenshot: await screenshot(page, "status-page-local.png") })}`);
});

test("the page refreshes by itself: the timestamp advances and a host's memory changes", async () => {
    const memory = (v: PageView) => v.hosts.find((h) => h.name === "node1")!.cells[5];
    const before = await readPage(page);
    const { view, after } = await waitForPage(page, "a newer status with node1's new memory", (v) => Date.parse(v.generatedAt) > Date.parse(before.generatedAt) && memory(v) !== memory(before), 5 * INTERVAL_S + 5);
    expect(Date.parse(view.generatedAt)).toBeGreaterThan(Date.parse(before.generatedAt));
    console.log(`status page (local): ${JSON.stringify({ refreshSeconds: after, memoryBefore: memory(before), memoryAfter: memory(view) })}`);
});

test("a node that stops answering is shown down, its replicas sick, within a few intervals", async () => {
    const victim = "node2";
    dead.add(victim);
    const t0 = Date.now();
    // Bound: the monitor's timeout (one interval) + a round + the page's refresh + a slow round.
    const bound = 5 * INTERVAL_S + 3;
    const { view, after } = await waitForPage(page, `${victim} down with its replicas sick`, (v) =>
        v.hosts.find((h) => h.name === victim)?.state === "down" &&
        v.replicas.filter((r) => r.node === victim).every((r) => r.health === "sick" && !r.nodeUp), bound);
    const seconds = (Date.now() - t0) / 1000;
    expect(view.hosts.filter((h) => h.name !== victim).every((h) => h.state === "up")).toBe(true);
    expect(view.replicas.filter((r) => r.node !== victim).every((r) => r.health === "healthy")).toBe(true);
    expect(view.hosts.find((h) => h.name === victim)!.error).toMatch(/Timeout|deadline|timeout/);
    const onVictim = config.apps.flatMap((a) => a.replicas).filter((r) => r.node === victim).length;
    expect(view.text).toMatch(new RegExp(`2/3 hosts up · ${4 - onVictim}/4 replicas healthy`));
    console.log(`status page (local): ${JSON.stringify({ node: victim, downShownSeconds: Number(seconds.toFixed(2)), polledFor: after, intervalSeconds: INTERVAL_S, bound, screenshot: await screenshot(page, "status-page-local-node-down.png") })}`);

    // Back: the node answers again and the page shows it up.
    dead.delete(victim);
    await waitForPage(page, `${victim} up again`, allUp, bound);
});

test("a router that does not answer: replica health unknown, never a stale healthy", async () => {
    routerAnswers = false;
    const { view } = await waitForPage(page, "router not answering", (v) => /router NOT answering/.test(v.text) && v.replicas.every((r) => r.health === "unknown"), 5 * INTERVAL_S + 3);
    expect(view.hosts.every((h) => h.state === "up")).toBe(true);
    routerAnswers = true;
    await waitForPage(page, "router answering again", allUp, 5 * INTERVAL_S + 3);
});

test("the page loaded nothing from beyond 127.0.0.1 (uPlot is served by the monitor)", () => {
    expect(browser!.refused).toEqual([]);
});
