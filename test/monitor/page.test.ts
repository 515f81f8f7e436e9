// The status page in a real browser, without Docker: the real matrix-monitor binary on
// 127.0.0.1 polling fakes (test/monitor/local-monitor.ts: fake cAdvisors with monitor/testdata's
// JSON, a fake varnishadm/varnishstat), read by Debian's headless Chromium (lab/driver/browser.ts).
// A node "dies" by its fake cAdvisor no longer answering, and the fake router marking its backends sick.
import { Page } from "playwright-core";
import { MonitorConfig } from "../../core/monitoring";
import { launchBrowser, LoopbackBrowser, open, screenshot } from "../../lab/driver/browser";
import { PageView, readPage, waitForPage } from "../../lab/driver/status-page";
import { LocalMonitor, REPLICA_RPS } from "./local-monitor";

jest.setTimeout(180_000);

const INTERVAL_S = 1;

let m: LocalMonitor;
let config: MonitorConfig;
let browser: LoopbackBrowser | undefined;
let page: Page;

beforeAll(async () => {
    m = await LocalMonitor.start(INTERVAL_S);
    config = m.config;
    browser = await launchBrowser();
    page = await open(browser, m.url);
});

afterAll(async () => {
    await browser?.close();
    await m?.stop();
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
    // Requests/s from the router's counters: 2 healthy replicas × REPLICA_RPS per app (±25 %: the fake's counters move in steps).
    await waitForPage(page, "requests/s of each app from the router's counters", (v) => v.apps.every((a) => Math.abs(a.requestsPerSecond - 2 * REPLICA_RPS) <= 0.25 * 2 * REPLICA_RPS), 5 * INTERVAL_S + 3);
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
    m.dead.add(victim);
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
    m.dead.delete(victim);
    await waitForPage(page, `${victim} up again`, allUp, bound);
});

test("a router that does not answer: replica health unknown, never a stale healthy", async () => {
    m.routerAnswers = false;
    const { view } = await waitForPage(page, "router not answering", (v) => /router NOT answering/.test(v.text) && v.replicas.every((r) => r.health === "unknown"), 5 * INTERVAL_S + 3);
    expect(view.hosts.every((h) => h.state === "up")).toBe(true);
    m.routerAnswers = true;
    await waitForPage(page, "router answering again", allUp, 5 * INTERVAL_S + 3);
});

test("the page loaded nothing from beyond 127.0.0.1 (uPlot is served by the monitor)", () => {
    expect(browser!.refused).toEqual([]);
});

test("without Chromium the driver fails, naming the fix (it never skips)", async () => {
    await expect(launchBrowser("/nonexistent/chromium")).rejects.toThrow("/nonexistent/chromium not found: the browser tests need Debian's Chromium (apt-get install chromium");
});
