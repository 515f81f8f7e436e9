// e2e (needs the lab with the dev stack up; not run where it was written): the status page, in
// Debian's headless Chromium (lab/driver/browser.ts), on the monitor's published loopback port.
// It shows every node and app of the dev stack with replica health and versions, draws its
// charts and refreshes by itself; a killed node's lab container shows down, with its replicas
// sick, within a few probe intervals (the seconds are logged). Screenshots: artifacts/.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Page } from "playwright-core";
import { launchBrowser, LoopbackBrowser, open, screenshot } from "../../lab/driver/browser";
import { CLOUD as DEFAULT_CLOUD, must } from "../../lab/driver/lab";
import { PageView, waitForPage } from "../../lab/driver/status-page";

const CLOUD = process.env.MATRIX_E2E_CLOUD ?? DEFAULT_CLOUD;
const MONITOR = `http://127.0.0.1:${process.env.MATRIX_E2E_MONITOR_PORT ?? "9090"}/`;
const INTERVAL_S = 5; // monitoring.interval (default); the page refreshes at the same pace
const CADVISOR_TIMEOUT_S = 3; // min(interval, 3 s): a dead node's poll gives up after this
const PROBE_S = 3; // the router's probe window × interval, rounded up (dev: 3 × 500 ms)

jest.setTimeout(300_000);

/** The dev stack's nodes and apps: what the lab runs. */
const dev = YAML.parse(fs.readFileSync(path.join(__dirname, "../../Pulumi.dev.yaml"), "utf8")).config;
const NODES: string[] = dev["matrix:nodes"].map((n: { name: string }) => n.name).sort();
const APPS: string[] = dev["matrix:applications"].map((a: { name: string }) => a.name).sort();

interface ApiStatus {
    generatedAt: string;
    hosts: { name: string; up: boolean }[];
    apps: { name: string; version: string; replicas: { node: string }[] }[];
}

let browser: LoopbackBrowser | undefined;
let page: Page;
let victim: string | undefined;
let killedAt = 0;

beforeAll(async () => {
    browser = await launchBrowser();
    page = await open(browser, MONITOR);
});

afterAll(async () => {
    await browser?.close();
    // Never leave the lab short of a node for the tests after this one.
    if (victim && killedAt) must(["docker", "start", `${CLOUD}-lab-${victim}`], 60_000);
});

async function apiStatus(): Promise<ApiStatus> {
    const res = await fetch(`${MONITOR}api/status`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return (await res.json()) as ApiStatus;
}

// A node killed by an earlier test (test/e2e/monitor.test.ts) may still be coming back: the first wait allows for it.
const allUpAndHealthy = (v: PageView) =>
    NODES.every((n) => v.hosts.some((h) => h.name === n && h.state === "up")) &&
    APPS.every((a) => v.replicas.some((r) => r.app === a)) &&
    v.replicas.every((r) => r.health === "healthy" && r.nodeUp);

test("the page shows every node and app of the lab, replica health and versions, and draws its charts", async () => {
    const { view } = await waitForPage(page, "every node up, every replica healthy, charts drawn", (v) => allUpAndHealthy(v) && v.charts.length === 3 && v.charts.every((c) => c.width > 0 && c.height > 0), 120);
    const api = await apiStatus();
    expect(view.hosts.map((h) => h.name).sort()).toEqual(NODES);
    for (const h of view.hosts) expect(h.cells.join(" ")).toMatch(/\d+ MiB \/ \d+ MiB/); // memory from the node's cAdvisor
    expect(view.apps.map((a) => a.name).sort()).toEqual(APPS);
    for (const a of view.apps) {
        const deployed = api.apps.find((x) => x.name === a.name)!;
        expect(a.version).not.toBe("–");
        expect(a.version).toBe(deployed.version);
        expect(a.healthy).toBe(`${deployed.replicas.length}/${deployed.replicas.length}`);
        // Every replica of the app, on the node the monitor's config places it.
        expect(view.replicas.filter((r) => r.app === a.name).map((r) => r.node).sort()).toEqual(deployed.replicas.map((r) => r.node).sort());
    }
    expect(browser!.refused).toEqual([]); // uPlot and the data come from the monitor itself
    console.log(`status page: ${JSON.stringify({ nodes: view.hosts.length, apps: view.apps.length, replicas: view.replicas.length, charts: view.charts.map((c) => `${c.width}x${c.height}`), screenshot: await screenshot(page, "status-page.png") })}`);
});

test("the page refreshes by itself", async () => {
    const before = Date.parse((await waitForPage(page, "a status", (v) => v.generatedAt !== "", 10)).view.generatedAt);
    const { after } = await waitForPage(page, "a newer status without reloading", (v) => Date.parse(v.generatedAt) > before, 2 * INTERVAL_S + 5);
    console.log(`status page: ${JSON.stringify({ refreshSeconds: after, intervalSeconds: INTERVAL_S })}`);
});

test("a killed node shows down, its replicas sick, within a few probe intervals", async () => {
    const api = await apiStatus();
    victim = NODES.find((n) => api.apps.some((a) => a.replicas.some((r) => r.node === n)));
    expect(victim).toBeDefined();
    must(["docker", "kill", `${CLOUD}-lab-${victim}`], 30_000);
    killedAt = Date.now();
    // Bound: a poll to start, its timeout, the page's refresh, the router's probes, slack.
    const bound = 2 * INTERVAL_S + CADVISOR_TIMEOUT_S + PROBE_S + 5;
    const { view } = await waitForPage(page, `${victim} down with its replicas sick`, (v) =>
        v.hosts.find((h) => h.name === victim)?.state === "down" &&
        v.replicas.filter((r) => r.node === victim).length > 0 &&
        v.replicas.filter((r) => r.node === victim).every((r) => r.health === "sick" && !r.nodeUp), bound);
    const seconds = (Date.now() - killedAt) / 1000;
    expect(view.hosts.filter((h) => h.name !== victim).every((h) => h.state === "up")).toBe(true);
    expect(view.hosts.find((h) => h.name === victim)!.error).not.toBe(""); // why, on hover
    console.log(`status page: ${JSON.stringify({ node: victim, killToPageSeconds: Number(seconds.toFixed(1)), bound, intervalSeconds: INTERVAL_S, screenshot: await screenshot(page, "status-page-node-down.png") })}`);
});

test("the restarted node shows up again", async () => {
    expect(victim).toBeDefined();
    must(["docker", "start", `${CLOUD}-lab-${victim}`], 60_000);
    const startedAt = Date.now();
    killedAt = 0; // started: afterAll has nothing to bring back
    // cAdvisor and the app containers come back with the node's dockerd (restart policies).
    await waitForPage(page, `${victim} up again`, (v) => v.hosts.find((h) => h.name === victim)?.state === "up", 120);
    console.log(`status page: ${JSON.stringify({ node: victim, startToPageUpSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)) })}`);
});
