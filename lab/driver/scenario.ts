// The seed's end-to-end steps on the dev lab, as functions returning what they measured:
// the test asserts on the results, the benchmark prints them.
import * as path from "path";
import { CLOUD, Load, LoadReport, get, must, servedBy, waitFor } from "./lab";
import type { RunResult } from "./stack";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NodeLossResult {
    node: string;
    /** Load while the node was down: failures, recovery since the kill. */
    down: LoadReport;
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
    await sleep(2000);
    const killedAt = Date.now();
    must(["docker", "kill", container]);
    await sleep(downMs);
    const down = await load.stop(killedAt);
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
    return { node, down, rejoinSeconds, rejoin, servedWhileDown };
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
