// The seed's end-to-end steps on the dev lab, as functions returning what they measured:
// the test asserts on the results, the benchmark prints them.
import * as http from "http";
import * as path from "path";
import { CLOUD, Load, LoadReport, get, must, report, servedBy, waitFor } from "./lab";
import type { RunResult } from "./stack";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NodeLossResult {
    node: string;
    /** GET load while the node was down: failures, recovery since the kill. */
    down: LoadReport;
    /** POST load at the same time: the router never retries a POST on another replica. */
    downPost: LoadReport;
    /** Seconds from `docker start` until every app placed on the node is served by it again. */
    rejoinSeconds: number;
    /** Load while the node came back. */
    rejoin: LoadReport;
    /** Nodes that served each URL in the last second of the down phase. */
    servedWhileDown: Record<string, string[]>;
}

/**
 * Step 9: under a steady load on `urls`, kill the node's lab container (abruptly, like a power
 * loss), keep the load for `downMs`, then start it again and wait until it serves its own apps
 * (`placedUrls`) again — with no redeploy: Varnish's probes take it back into rotation.
 */
export async function nodeLoss(urls: string[], node: string, placedUrls: string[], downMs = 8000): Promise<NodeLossResult> {
    const container = `${CLOUD}-lab-${node}`;
    const load = new Load(urls).start();
    const posts = new Load(urls, { rate: 20, method: "POST" }).start();
    await sleep(2000);
    const killedAt = Date.now();
    must(["docker", "kill", container]);
    await sleep(downMs);
    const [down, downPost] = await Promise.all([load.stop(killedAt), posts.stop(killedAt)]);
    if (must(["docker", "inspect", "--format", "{{.State.Running}}", container]) !== "false") {
        throw new Error(`${container} was restarted while it should have stayed down`);
    }
    const servedWhileDown: Record<string, string[]> = {};
    for (const s of down.samples.filter((x) => x.start > killedAt + downMs - 1000 && x.status === 200)) {
        const set = new Set(servedWhileDown[s.url] ?? []);
        set.add(servedBy(s.body) ?? "?");
        servedWhileDown[s.url] = [...set].sort();
    }

    const back = new Load(urls).start();
    const startedAt = Date.now();
    must(["docker", "start", container]);
    try {
        await waitFor(`${node} back in rotation for ${placedUrls.join(", ")}`, () => {
            const seen = placedUrls.every((u) => back.samples.some((s) => s.url === u && s.start > startedAt && servedBy(s.body) === node));
            return seen ? true : undefined;
        }, 120_000);
    } catch (e) {
        await back.stop(); // no load left running after a failure
        throw e;
    }
    const rejoinSeconds = (Date.now() - startedAt) / 1000;
    await sleep(1000);
    const rejoin = await back.stop(startedAt);
    return { node, down, downPost, rejoinSeconds, rejoin, servedWhileDown };
}

export interface ChangeUnderLoadResult {
    apply: RunResult;
    load: LoadReport;
}

/** Step 4: apply a change (`pulumi up`) while a steady load runs on `urls`. */
export async function applyUnderLoad(urls: string[], up: () => Promise<RunResult>): Promise<ChangeUnderLoadResult> {
    const load = new Load(urls).start();
    await sleep(1000);
    const t0 = Date.now();
    const apply = await up();
    await sleep(1000);
    return { apply, load: await load.stop(t0) };
}

export interface Throughput {
    rps: number;
    /** Latency percentiles, milliseconds. */
    p50: number;
    p90: number;
    p99: number;
    /** Transport errors and non-2xx answers. */
    failed: number;
}

/**
 * Throughput and latency of GET url from one wrk client (`connections` keep-alive connections,
 * one thread): the same client for the direct and the routed measurement.
 */
export function throughput(url: string, seconds = 5, connections = 8): Throughput {
    const script = path.join(__dirname, "wrk-json.lua");
    const out = must(["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", script, url], (seconds + 30) * 1000);
    const r = JSON.parse(out.split("\n").filter((l) => l.startsWith("{")).pop() ?? "{}");
    const ms = (us: number) => Math.round(us) / 1000;
    return { rps: Math.round((r.requests / r.seconds) * 10) / 10, p50: ms(r.p50), p90: ms(r.p90), p99: ms(r.p99), failed: r.errors };
}

/** Nodes that served `n` successive GETs of url, in order; throws on a non-200. */
export async function successive(url: string, n: number): Promise<string[]> {
    const nodes: string[] = [];
    for (let i = 0; i < n; i++) {
        const r = await get(url);
        if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
        nodes.push(servedBy(r.body) ?? `(unrecognised body ${JSON.stringify(r.body.slice(0, 80))})`);
    }
    return nodes;
}

/** What a load saw, without its samples: the figures the benchmark prints for every scenario. */
export function figures(r: LoadReport) {
    return { requests: r.requests, failed: r.failed, recoverySeconds: Math.round(r.recoverySeconds * 100) / 100, p50Ms: r.p50Ms, p99Ms: r.p99Ms, maxLatencyMs: r.maxLatencyMs };
}

export interface FrozenNodeResult {
    node: string;
    get: LoadReport;
    post: LoadReport;
    /** Seconds from the unpause until the node serves its apps again. */
    thawSeconds: number;
}

/**
 * A node that accepts connections but never answers: its lab container is paused (every process
 * frozen; the kernel still completes TCP handshakes) under GET and POST load for `frozenMs`,
 * then thawed. Clients wait up to `clientTimeoutMs`, longer than the router's default
 * first-byte timeout, so what the router does is what is measured.
 */
export async function frozenNode(urls: string[], node: string, placedUrls: string[], frozenMs = 10_000, clientTimeoutMs = 40_000): Promise<FrozenNodeResult> {
    const container = `${CLOUD}-lab-${node}`;
    const gets = new Load(urls, { timeoutMs: clientTimeoutMs, maxInFlight: 512 }).start();
    const posts = new Load(urls, { rate: 10, method: "POST", timeoutMs: clientTimeoutMs, maxInFlight: 512 }).start();
    await sleep(2000);
    const frozenAt = Date.now();
    must(["docker", "pause", container]);
    await sleep(frozenMs);
    must(["docker", "unpause", container]);
    const thawedAt = Date.now();
    try {
        await waitFor(`${node} serving again after the thaw`, () => (placedUrls.every((u) => gets.samples.some((s) => s.url === u && s.start > thawedAt && servedBy(s.body) === node)) ? true : undefined), 60_000);
    } catch (e) {
        await Promise.all([gets.stop(), posts.stop()]);
        throw e;
    }
    const thawSeconds = (Date.now() - thawedAt) / 1000;
    const [get, post] = await Promise.all([gets.stop(frozenAt), posts.stop(frozenAt)]);
    return { node, get, post, thawSeconds };
}

export interface SlowResult {
    /** Slow responses (longer than several probe intervals) on healthy nodes: none should fail. */
    slow: LoadReport;
    /** Slow responses in flight on a node when it died: what the client got. */
    inFlightAtDeath: { requests: number; failed: number; onDeadNode: number };
}

/**
 * Slow responses (`slowUrl` trickles its body for a few seconds): first on a healthy cloud, then
 * a batch in flight when a node is killed. Each answer names the node that served it (header
 * X-Matrix-Backend, set before the body starts), so the ones on the dead node can be counted.
 */
export async function slowResponses(appUrl: string, node: string, count = 8): Promise<SlowResult> {
    const slowUrl = `${appUrl}slow`;
    const batch = async (during?: () => Promise<void>) => {
        const started = Date.now();
        const all = Array.from({ length: count }, () => {
            const t = Date.now();
            return requestWithBackend(slowUrl, 30_000).then(
                (r) => ({ url: slowUrl, method: "GET", start: t, end: Date.now(), status: r.status, body: r.backend }),
                (e) => ({ url: slowUrl, method: "GET", start: t, end: Date.now(), status: 0, body: e.backend ?? "", error: e.message as string }),
            );
        });
        if (during) await during();
        const samples = await Promise.all(all);
        return { samples, started };
    };
    const healthy = await batch();
    const container = `${CLOUD}-lab-${node}`;
    const dying = await batch(async () => {
        await sleep(1000);
        must(["docker", "kill", container]);
    });
    must(["docker", "start", container]);
    await waitFor(`${node} serving ${appUrl} again`, async () => (servedBy((await get(appUrl)).body) === node ? true : undefined), 120_000, 100);
    const onDead = dying.samples.filter((s) => s.body.endsWith(`__${node}`));
    return {
        slow: report(healthy.samples, healthy.started),
        inFlightAtDeath: { requests: dying.samples.length, failed: dying.samples.filter((s) => s.status !== 200).length, onDeadNode: onDead.length },
    };
}

/** GET whose response headers name the backend (X-Matrix-Backend) even when the body then fails. */
function requestWithBackend(url: string, timeoutMs: number): Promise<{ status: number; backend: string }> {
    return new Promise((resolve, reject) => {
        let backend = "";
        const req = http.get(url, { timeout: timeoutMs }, (res) => {
            backend = String(res.headers["x-matrix-backend"] ?? "");
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, backend }));
            res.on("error", (e) => reject(Object.assign(e, { backend })));
            res.on("aborted", () => reject(Object.assign(new Error("response aborted"), { backend })));
        });
        req.on("timeout", () => req.destroy(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { backend })));
        req.on("error", (e) => reject(Object.assign(e, { backend })));
    });
}
