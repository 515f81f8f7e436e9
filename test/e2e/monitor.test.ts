// e2e (needs the lab; not run where it was written): the monitor on the manager, reached on the
// lab's published loopback port, sees every node and replica; a killed node shows down.
import { execFileSync } from "child_process";

const CLOUD = process.env.MATRIX_E2E_CLOUD ?? "matrix";
const MONITOR = `http://127.0.0.1:${process.env.MATRIX_E2E_MONITOR_PORT ?? "9090"}`;
const INTERVAL_S = 5; // monitoring.interval (default)
const PROBE_S = 3; // router.probe window × interval (defaults: 3 × 1s)

jest.setTimeout(180_000);

interface Status {
    hosts: { name: string; up: boolean; metrics: { cpuCores: number; memoryUsed: number } | null; containers: { name: string; cpuCores: number; memoryUsed: number; netRxBytes: number }[] }[];
    apps: { name: string; replicas: { node: string; health: string; nodeUp: boolean }[] }[];
}

async function status(): Promise<Status> {
    const res = await fetch(`${MONITOR}/api/status`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return (await res.json()) as Status;
}

async function until(what: string, ok: (s: Status) => boolean, seconds: number): Promise<{ s: Status; after: number }> {
    const t0 = Date.now();
    let last: Status | undefined;
    while (Date.now() - t0 < seconds * 1000) {
        try {
            last = await status();
            if (ok(last)) return { s: last, after: (Date.now() - t0) / 1000 };
        } catch {
            /* the monitor may still be starting */
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${what}: not within ${seconds} s; last status: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

describe("monitoring (lab)", () => {
    let victim: string | undefined;
    afterAll(() => {
        // Bring the killed node back for the tests after this one.
        if (victim) execFileSync("docker", ["start", `${CLOUD}-lab-${victim}`], { timeout: 60_000 });
    });

    test("every node up, every replica healthy, numbers for every running container", async () => {
        const { s } = await until("all up and healthy", (s) => s.hosts.length > 0 && s.hosts.every((h) => h.up) && s.apps.every((a) => a.replicas.every((r) => r.health === "healthy")), 60);
        for (const h of s.hosts) {
            expect(h.metrics!.memoryUsed).toBeGreaterThan(0);
            expect(h.containers.length).toBeGreaterThan(0); // cAdvisor itself at least
            for (const c of h.containers) {
                expect(Number.isFinite(c.cpuCores)).toBe(true);
                expect(c.memoryUsed).toBeGreaterThan(0);
                expect(Number.isFinite(c.netRxBytes)).toBe(true);
            }
        }
        const cloud = (await (await fetch(`${MONITOR}/api/cloud`, { signal: AbortSignal.timeout(5000) })).json()) as { hostsUp: number; replicas: number; replicasHealthy: number };
        expect(cloud.hostsUp).toBe(s.hosts.length);
        expect(cloud.replicasHealthy).toBe(cloud.replicas);
        const page = await (await fetch(`${MONITOR}/`, { signal: AbortSignal.timeout(5000) })).text();
        expect(page).toContain("uPlot");
        expect((await fetch(`${MONITOR}/static/uPlot.iife.min.js`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    });

    test("a killed node shows down, its replicas unhealthy, within a bounded time", async () => {
        const s = await status();
        const withReplicas = s.hosts.find((h) => s.apps.some((a) => a.replicas.some((r) => r.node === h.name)));
        expect(withReplicas).toBeDefined();
        victim = withReplicas!.name;
        execFileSync("docker", ["kill", `${CLOUD}-lab-${victim}`], { timeout: 30_000 });
        // Bound: one poll to notice, one more for a slow round, plus the router's probe window.
        const bound = 2 * INTERVAL_S + PROBE_S + 5;
        const { after } = await until(
            `${victim} down`,
            (s) => s.hosts.find((h) => h.name === victim)?.up === false && s.apps.every((a) => a.replicas.filter((r) => r.node === victim).every((r) => r.health === "sick" && !r.nodeUp)),
            bound,
        );
        console.log(`monitor: ${victim} shown down with its replicas sick ${after.toFixed(1)} s after the kill (bound ${bound} s)`);
    });
});
