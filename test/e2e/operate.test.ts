// End to end: operating the cloud, on one lab (the dev stack applied as the e2e stack). The
// `matrix` CLI is run as an operator runs it (a subprocess with the stack's backend and passphrase
// in its environment); the monitor's API and status page are read on its published loopback port,
// the page in Debian's headless Chromium (lab/driver/browser.ts). Then one node's lab container is
// killed and all three must show it down, its replicas sick; the seconds each took are logged.
// Every step is bounded in time; the only addresses involved are the lab's loopback ports.
import { spawnSync } from "child_process";
import * as path from "path";
import { Page } from "playwright-core";
import { labNames } from "../../core/layout";
import { launchBrowser, LoopbackBrowser, open, screenshot } from "../../lab/driver/browser";
import { CLOUD, get, must, requireTools, waitFor } from "../../lab/driver/lab";
import { LabStack, ROOT, STACK } from "../../lab/driver/stack";
import { PageView, waitForPage } from "../../lab/driver/status-page";

jest.setTimeout(900_000);

const INTERVAL_S = 5; // monitoring.interval (default); the page refreshes at the same pace
const CADVISOR_TIMEOUT_S = 3; // min(interval, 3 s): a dead node's poll gives up after this
const PROBE_S = 3; // the router's probe window × interval, rounded up (dev: 3 × 500 ms)

let lab: LabStack;
let outputs: any;
let browser: LoopbackBrowser | undefined;
let page: Page;
let victim: string | undefined;

function matrix(args: string[], timeoutMs = 60_000): { code: number; out: string; err: string } {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "matrix.js"), "--stack", STACK, ...args], {
        encoding: "utf8",
        timeout: timeoutMs,
        env: { ...process.env, PULUMI_BACKEND_URL: `file://${lab.backend}`, PULUMI_CONFIG_PASSPHRASE: "matrix-e2e", PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    if (r.error) throw new Error(`matrix ${args.join(" ")}: ${r.error.message}`);
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface ApiStatus {
    generatedAt: string;
    hosts: { name: string; up: boolean; metrics: { cpuCores: number; memoryUsed: number } | null; containers: { name: string; cpuCores: number; memoryUsed: number; netRxBytes: number }[] }[];
    apps: { name: string; version: string; replicas: { node: string; health: string; nodeUp: boolean }[] }[];
}

const monitor = (p: string) => `${outputs.monitorUrl}${p}`;

async function apiStatus(): Promise<ApiStatus> {
    const res = await fetch(monitor("api/status"), { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return (await res.json()) as ApiStatus;
}

const nodeNames = () => outputs.nodes.map((n: any) => n.name).sort();
const appNames = () => Object.keys(outputs.applications).sort();
const allUpAndHealthy = (v: PageView) =>
    nodeNames().every((n: string) => v.hosts.some((h) => h.name === n && h.state === "up")) &&
    appNames().every((a) => v.replicas.some((r) => r.app === a)) &&
    v.replicas.every((r) => r.health === "healthy" && r.nodeUp);

beforeAll(async () => {
    requireTools();
    // Before the lab: a missing Chromium fails here, in seconds, with what to install.
    browser = await launchBrowser();
    lab = await LabStack.create();
    outputs = (await lab.up()).outputs;
    expect(outputs.monitorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    page = await open(browser, outputs.monitorUrl);
});

afterAll(async () => {
    await browser?.close();
    // A node left dead would fail the destroy.
    if (victim) must(["docker", "start", labNames(CLOUD).host(victim)], 60_000);
    if (lab) {
        await lab.teardown();
        await lab.remove();
    }
});

describe("the matrix CLI", () => {
    test("status --json: every host up, every replica healthy in the router; exit 0", () => {
        const r = matrix(["--json", "status"]);
        const status = JSON.parse(r.out);
        expect(status.hosts.map((h: any) => [h.name, h.reachable, typeof h.docker])).toEqual(outputs.hosts.map((h: any) => [h.name, true, "string"]));
        for (const app of appNames()) {
            const a = status.apps.find((x: any) => x.name === app);
            expect(a.replicas.map((x: any) => x.router)).toEqual(a.replicas.map(() => "healthy"));
            expect(a.version).toBe(outputs.applications[app].version);
        }
        expect(status.ok).toBe(true);
        expect(r.code).toBe(0);
        // The table for people names every host too.
        const table = matrix(["status"]).out;
        for (const h of outputs.hosts) expect(table).toMatch(new RegExp(`^${h.name} +${h.role} +${h.address.replace(/\./g, "\\.")} +up`, "m"));
        console.log(`matrix status:\n${table}`);
    });

    test("logs <app>: lines from both replicas, each prefixed with its node", async () => {
        const app = "simplewebapp1";
        for (let i = 0; i < 20; i++) await get(outputs.applications[app].urls[0]);
        const r = matrix(["logs", app, "--tail", "200"]);
        expect(r.code).toBe(0);
        const nodes = new Set(r.out.split("\n").filter(Boolean).map((l) => /^\[([^/\]]+)\//.exec(l)?.[1]));
        expect([...nodes].sort()).toEqual(outputs.applications[app].replicas.map((x: any) => x.node).sort());
    });

    test("stats --json: numbers for every running container", () => {
        const r = matrix(["--json", "stats"], 120_000);
        expect(r.code).toBe(0);
        const sample = JSON.parse(r.out);
        const running = outputs.hosts.flatMap((h: any) => {
            const names = must(["docker", "exec", labNames(CLOUD).host(h.name), "docker", "ps", "--format", "{{.Names}}"]).split("\n").filter(Boolean);
            return names.map((n: string) => `${h.name}/${n}`);
        });
        expect(sample.containers.map((c: any) => `${c.host}/${c.name}`).sort()).toEqual(running.sort());
        for (const c of sample.containers) {
            for (const k of ["cpuPercent", "memoryBytes", "netRxBytes", "pids"]) expect(typeof c[k]).toBe("number");
        }
        for (const n of sample.nodes) expect(typeof n.cpus).toBe("number");
    });

    test("nodes, images and the cloud's totals answer", () => {
        const nodes = JSON.parse(matrix(["--json", "nodes"]).out);
        expect(nodes.map((n: any) => n.name)).toEqual(outputs.hosts.map((h: any) => h.name));
        const images = matrix(["--json", "images"]);
        expect(images.code).toBe(0);
        const repos = JSON.parse(images.out).registry.repositories.map((r: any) => r.name);
        expect(repos).toEqual(expect.arrayContaining(appNames()));
        expect(images.out + images.err).not.toContain("[secret]");
        const cloud = matrix(["--json", "stats", "--cloud"]);
        expect(cloud.code).toBe(0);
        expect(JSON.parse(cloud.out).hosts).toBe(outputs.nodes.length);
    });
});

describe("the monitor", () => {
    test("API: every node up, every replica healthy, numbers for every running container, the cloud's totals", async () => {
        let s: ApiStatus | undefined;
        await waitFor("the monitor to see every node up and every replica healthy", async () => {
            s = await apiStatus().catch(() => undefined);
            return s && s.hosts.length && s.hosts.every((h) => h.up) && s.apps.every((a) => a.replicas.every((r) => r.health === "healthy")) ? true : undefined;
        }, 60_000, 1000);
        expect(s!.hosts.map((h) => h.name).sort()).toEqual(nodeNames());
        for (const h of s!.hosts) {
            expect(h.metrics!.memoryUsed).toBeGreaterThan(0);
            // Every container running on the node, with numbers (cAdvisor's own included).
            const running = must(["docker", "exec", labNames(CLOUD).host(h.name), "docker", "ps", "--format", "{{.Names}}"]).split("\n").filter(Boolean).sort();
            expect(h.containers.map((c) => c.name).sort()).toEqual(running);
            for (const c of h.containers) {
                expect(Number.isFinite(c.cpuCores)).toBe(true);
                expect(c.memoryUsed).toBeGreaterThan(0);
                expect(Number.isFinite(c.netRxBytes)).toBe(true);
            }
        }
        const cloud = (await (await fetch(monitor("api/cloud"), { signal: AbortSignal.timeout(5000) })).json()) as { hostsUp: number; replicas: number; replicasHealthy: number };
        expect(cloud.hostsUp).toBe(s!.hosts.length);
        expect(cloud.replicasHealthy).toBe(cloud.replicas);
    });

    test("page: every node and app of the lab, replica health and versions, charts drawn", async () => {
        const { view } = await waitForPage(page, "every node up, every replica healthy, charts drawn", (v) => allUpAndHealthy(v) && v.charts.length === 3 && v.charts.every((c) => c.width > 0 && c.height > 0), 60);
        const api = await apiStatus();
        expect(view.hosts.map((h) => h.name).sort()).toEqual(nodeNames());
        for (const h of view.hosts) expect(h.cells.join(" ")).toMatch(/\d+ MiB \/ \d+ MiB/); // memory from the node's cAdvisor
        expect(view.apps.map((a) => a.name).sort()).toEqual(appNames());
        for (const a of view.apps) {
            const deployed = api.apps.find((x) => x.name === a.name)!;
            expect(a.version).toBe(outputs.applications[a.name].version);
            expect(a.healthy).toBe(`${deployed.replicas.length}/${deployed.replicas.length}`);
            expect(view.replicas.filter((r) => r.app === a.name).map((r) => r.node).sort()).toEqual(outputs.applications[a.name].replicas.map((r: any) => r.node).sort());
        }
        expect(browser!.refused).toEqual([]); // uPlot and the data come from the monitor itself
        console.log(`status page: ${JSON.stringify({ nodes: view.hosts.length, apps: view.apps.length, replicas: view.replicas.length, charts: view.charts.map((c) => `${c.width}x${c.height}`), screenshot: await screenshot(page, "status-page.png") })}`);
    });

    test("page: refreshes by itself", async () => {
        const before = Date.parse((await waitForPage(page, "a status", (v) => v.generatedAt !== "", 10)).view.generatedAt);
        const { after } = await waitForPage(page, "a newer status without reloading", (v) => Date.parse(v.generatedAt) > before, 2 * INTERVAL_S + 5);
        console.log(`status page: ${JSON.stringify({ refreshSeconds: after, intervalSeconds: INTERVAL_S })}`);
    });
});

describe("a node dies", () => {
    test("the page, the API and `matrix status` show it down and its replicas sick; status exits 1 and names it", async () => {
        victim = outputs.applications.simplewebapp1.replicas[0].node as string;
        const node = victim;
        must(["docker", "kill", labNames(CLOUD).host(node)], 30_000);
        const killedAt = Date.now();
        const since = () => Number(((Date.now() - killedAt) / 1000).toFixed(1));
        // Bound: a poll to start, its timeout, the page's refresh, the router's probes, slack.
        const bound = 2 * INTERVAL_S + CADVISOR_TIMEOUT_S + PROBE_S + 5;
        const [pageSeconds, apiSeconds, cli] = await Promise.all([
            waitForPage(page, `${node} down with its replicas sick`, (v) =>
                v.hosts.find((h) => h.name === node)?.state === "down" &&
                v.replicas.filter((r) => r.node === node).length > 0 &&
                v.replicas.filter((r) => r.node === node).every((r) => r.health === "sick" && !r.nodeUp), bound).then(since),
            waitFor(`the monitor API to show ${node} down`, async () => {
                const s = await apiStatus();
                return s.hosts.find((h) => h.name === node)?.up === false && s.apps.every((a) => a.replicas.filter((r) => r.node === node).every((r) => r.health === "sick" && !r.nodeUp)) ? since() : undefined;
            }, bound * 1000, 500),
            waitFor(`matrix status to show ${node}'s replica sick`, () => {
                const r = matrix(["--json", "status"]);
                const s = JSON.parse(r.out);
                const replica = s.apps.find((a: any) => a.name === "simplewebapp1").replicas.find((x: any) => x.node === node);
                return replica.router === "sick" ? { ...r, s, seconds: since() } : undefined;
            }, 60_000, 1000),
        ]);
        expect(cli.code).toBe(1);
        const h = cli.s.hosts.find((x: any) => x.name === node);
        expect(h.reachable).toBe(false);
        expect(h.error).toMatch(new RegExp(`^${node}: (ssh refused|host down|timed out)`));
        expect(cli.err).not.toMatch(/\n\s+at /);
        expect(cli.s.hosts.filter((x: any) => x.name !== node).every((x: any) => x.reachable)).toBe(true);
        console.log(`node killed: ${JSON.stringify({ node, killToPageSeconds: pageSeconds, killToApiSeconds: apiSeconds, killToCliSeconds: cli.seconds, bound, intervalSeconds: INTERVAL_S, screenshot: await screenshot(page, "status-page-node-down.png") })}`);
    });

    test("restarted, it shows up again on the page and in `matrix status`", async () => {
        const node = victim!;
        must(["docker", "start", labNames(CLOUD).host(node)], 60_000);
        const startedAt = Date.now();
        victim = undefined; // started: afterAll has nothing to bring back
        await waitForPage(page, `${node} up again`, (v) => v.hosts.find((h) => h.name === node)?.state === "up", 120);
        await waitFor(`${node} reachable again in matrix status`, () => (JSON.parse(matrix(["--json", "status"]).out).hosts.every((h: any) => h.reachable) ? true : undefined), 90_000, 2000);
        console.log(`node restarted: ${JSON.stringify({ node, startToUpSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)) })}`);
    });
});
