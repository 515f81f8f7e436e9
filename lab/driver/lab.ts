// The lab, driven for real: a bounded HTTP load generator, DNS queries with dig, docker
// inspection, and the tools they need. Shared by the end-to-end test and the benchmark.
import { spawnSync } from "child_process";
import * as http from "http";
import * as https from "https";
import { schemas } from "../../core/schema";

/** The cloud name of the dev stack (it sets none: the default): every lab object is named after it. */
export const CLOUD = schemas.cloudName.parse(undefined);

export function sh(cmd: string[], timeoutMs = 60_000, input?: string): { code: number; out: string; err: string } {
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: timeoutMs, input });
    if (r.error) throw new Error(`${cmd[0]}: ${r.error.message}`);
    return { code: r.status ?? -1, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
}

/** A command that must succeed; its stdout. */
export function must(cmd: string[], timeoutMs?: number, input?: string): string {
    const r = sh(cmd, timeoutMs, input);
    if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.err || r.out}`);
    return r.out;
}

/** Fail loudly, naming the fix, when a tool the lab needs (or one more: [tool, fix]) is missing. */
export function requireTools(...more: [string, string][]) {
    for (const [tool, fix] of [["docker", "apt-get install docker.io"], ["dig", "apt-get install dnsutils"], ["ssh", "apt-get install openssh-client"],
        ["pulumi", "install Pulumi (offline: scripts/install-pulumi.sh)"], ...more]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found: ${fix}`);
    }
    if (sh(["docker", "info", "--format", "{{.ServerVersion}}"]).code !== 0) {
        throw new Error("the docker engine does not answer: run scripts/start-dockerd.sh");
    }
    if (sh(["docker", "image", "inspect", "debian:bookworm-slim"]).code !== 0) {
        throw new Error("base image debian:bookworm-slim missing: run scripts/bootstrap-base-image.sh");
    }
}

/** Docker objects of the lab on the local engine (names start with the cloud name). */
export function labObjects(): string[] {
    const list = (cmd: string[]) => must(cmd).split("\n").filter((n) => n.startsWith(`${CLOUD}-`));
    return [
        ...list(["docker", "ps", "-a", "--format", "{{.Names}}"]).map((n) => `container ${n}`),
        ...list(["docker", "network", "ls", "--format", "{{.Name}}"]).map((n) => `network ${n}`),
        ...list(["docker", "volume", "ls", "--format", "{{.Name}}"]).map((n) => `volume ${n}`),
    ];
}

/** Query a DNS server with dig; the answers (addresses), empty when none. */
export function dig(server: string, name: string): string[] {
    return must(["dig", "+short", "+time=2", "+tries=2", `@${server}`, name]).split("\n").filter(Boolean);
}

/** Run a docker command inside a lab host (against its own dockerd). */
export function onHost(host: string, args: string[]): string {
    return must(["docker", "exec", `${CLOUD}-lab-${host}`, ...args]);
}

export function get(url: string, timeoutMs = 5000, agent?: http.Agent, ca?: string): Promise<{ status: number; body: string; headers?: http.IncomingHttpHeaders }> {
    return request("GET", url, timeoutMs, agent, ca);
}

/** An HTTP request; https:// URLs verify the server against `ca` (the cloud's CA, stack output `ca`). */
export function request(method: string, url: string, timeoutMs = 5000, agent?: http.Agent, ca?: string): Promise<{ status: number; body: string; headers?: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
        const send = url.startsWith("https:") ? https.request : http.request;
        const req = send(url, { method, timeout: timeoutMs, agent, ...(ca ? { ca } : {}) }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim(), headers: res.headers }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

/** Poll until fn returns a value (not undefined), bounded. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 250): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (e: any) {
            last = e.message;
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ""}`);
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

export interface Sample { url: string; method: string; start: number; end: number; status: number; body: string; error?: string }

export interface LoadReport {
    requests: number;
    failed: number;
    /** Failed samples (status other than 200, or a transport error). */
    failures: Sample[];
    /** Seconds from `since` until the start of the first request after which all succeeded (0 if none failed). */
    recoverySeconds: number;
    /** Seconds from `since` until the start of the first request after which all succeeded within SLOW_MS. */
    steadySeconds: number;
    maxLatencyMs: number;
    p50Ms: number;
    p99Ms: number;
    samples: Sample[];
}

export interface LoadOptions {
    /** Requests per second, spread over the URLs. */
    rate?: number;
    maxInFlight?: number;
    /** Each request's own timeout: a client that gives up. */
    timeoutMs?: number;
    /** POST is not idempotent: the router never retries it on another replica. */
    method?: "GET" | "POST";
}

/**
 * A steady, bounded client load: `rate` requests per second spread over `urls`, at most
 * `maxInFlight` at once, each with its own timeout. Runs until stop().
 */
export class Load {
    readonly samples: Sample[] = [];
    private timer?: NodeJS.Timeout;
    private inFlight = new Set<Promise<void>>();
    private n = 0;
    // FIFO: every kept-alive socket is reused within a fraction of a second. LIFO (Node's default)
    // lets some idle past Varnish's timeout_idle (5 s), and a request sent on one just as Varnish
    // closes it fails with "socket hang up": a client artifact, seen once in a drain.
    private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16, scheduling: "fifo" });

    private readonly rate: number;
    private readonly maxInFlight: number;
    private readonly timeoutMs: number;
    private readonly method: "GET" | "POST";

    constructor(private readonly urls: string[], options: LoadOptions = {}) {
        ({ rate: this.rate = 50, maxInFlight: this.maxInFlight = 64, timeoutMs: this.timeoutMs = 5000, method: this.method = "GET" } = options);
    }

    start(): this {
        this.timer = setInterval(() => this.fire(), 1000 / this.rate);
        return this;
    }

    private fire() {
        if (this.inFlight.size >= this.maxInFlight) {
            // Over budget: count it as failed rather than queueing unbounded work.
            const t = Date.now();
            this.samples.push({ url: "(skipped)", method: this.method, start: t, end: t, status: 0, body: "", error: `more than ${this.maxInFlight} requests in flight` });
            return;
        }
        const url = this.urls[this.n++ % this.urls.length];
        const start = Date.now();
        const method = this.method;
        const p = request(method, url, this.timeoutMs, this.agent).then(
            (r) => { this.samples.push({ url, method, start, end: Date.now(), status: r.status, body: r.body }); },
            (e) => { this.samples.push({ url, method, start, end: Date.now(), status: 0, body: "", error: e.message }); },
        );
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
    }

    async stop(since = 0): Promise<LoadReport> {
        clearInterval(this.timer);
        await Promise.all([...this.inFlight]);
        this.agent.destroy();
        return report(this.samples, since);
    }
}

/** A request slower than this (ms) is not "steady state": it waited on a dead replica. */
export const SLOW_MS = 200;

export function report(samples: Sample[], since = 0): LoadReport {
    const ordered = [...samples].sort((a, b) => a.start - b.start);
    const failures = ordered.filter((s) => s.status !== 200);
    const secondsUntilAfter = (bad: Sample[]) => (bad.length ? Math.max(0, (bad[bad.length - 1].start - since) / 1000) : 0);
    return {
        requests: ordered.length,
        failed: failures.length,
        failures,
        recoverySeconds: secondsUntilAfter(failures),
        steadySeconds: secondsUntilAfter(ordered.filter((s) => s.status !== 200 || s.end - s.start > SLOW_MS)),
        maxLatencyMs: Math.max(0, ...ordered.map((s) => s.end - s.start)),
        p50Ms: percentile(ordered, 0.5),
        p99Ms: percentile(ordered, 0.99),
        samples: ordered,
    };
}

function percentile(samples: Sample[], q: number): number {
    const latencies = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
    return latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0;
}

/** The node named in an app's answer ("<app> served by <node>"). */
export function servedBy(body: string): string | undefined {
    return /served by (\S+)/.exec(body)?.[1];
}
