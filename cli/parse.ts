// Parsers of what the hosts print: docker's `--format '{{json .}}'` lines, the host facts script,
// Varnish's `backend.list -j` and `varnishstat -j`. Pure, so each is tested on real-shaped samples.

/** docker's Go template that prints one JSON object per line. */
export const DOCKER_JSON_FORMAT = "{{json .}}";

/** Objects of a JSON-lines text; a line that is not JSON is an error naming it. */
export function jsonLines(text: string, what: string): Record<string, any>[] {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => {
            try {
                return JSON.parse(l);
            } catch {
                throw new Error(`${what}: not JSON: ${l.slice(0, 120)}`);
            }
        });
}

const UNITS: Record<string, number> = {
    b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15,
    kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, pib: 1024 ** 5,
};

/**
 * Bytes of a size as docker prints it (go-units): decimal units for network, block I/O and image
 * sizes ("1.5kB", "12.3MB"), binary ones for memory ("64MiB"). "--" (no data) is undefined.
 */
export function parseSize(text: string): number | undefined {
    const m = /^\s*([\d.]+)\s*([a-zA-Z]*)\s*$/.exec(text);
    if (!m) return undefined;
    const unit = UNITS[(m[2] || "b").toLowerCase()];
    return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** "a / b" pairs (MemUsage, NetIO, BlockIO) as two byte counts. */
export function parsePair(text: string): [number | undefined, number | undefined] {
    const [a, b] = (text ?? "").split("/");
    return [parseSize(a ?? ""), parseSize(b ?? "")];
}

/** "12.5%" → 12.5; "--" → undefined. */
export function parsePercent(text: string): number | undefined {
    const m = /^\s*([\d.]+)\s*%\s*$/.exec(text ?? "");
    return m ? Number(m[1]) : undefined;
}

/** docker ps's Labels column: "a=1,b=2". Values with commas are not ours (matrix's labels have none). */
export function parseLabels(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of (text ?? "").split(",")) {
        const i = part.indexOf("=");
        if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
    }
    return out;
}

export type Health = "healthy" | "unhealthy" | "starting" | "none";

export interface Container {
    id: string;
    name: string;
    image: string;
    state: string;
    status: string;
    health: Health;
    app?: string;
    ports: string;
    created: string;
}

/** One line of `docker ps -a --format '{{json .}}'`. */
export function parseContainer(row: Record<string, any>): Container {
    const labels = parseLabels(row.Labels ?? "");
    const status = String(row.Status ?? "");
    const health: Health = /\(healthy\)/.test(status) ? "healthy" : /\(unhealthy\)/.test(status) ? "unhealthy" : /\(health: starting\)/.test(status) ? "starting" : "none";
    // .State exists from Docker 20.10 on; older clients only have the status text.
    const state = row.State ? String(row.State) : /^Up/.test(status) ? "running" : /^Exited/.test(status) ? "exited" : status.split(" ")[0].toLowerCase();
    return { id: String(row.ID), name: String(row.Names), image: String(row.Image), state, status, health, app: labels["matrix.app"], ports: String(row.Ports ?? ""), created: String(row.RunningFor ?? row.CreatedAt ?? "") };
}

export interface ContainerStats {
    id: string;
    name: string;
    cpuPercent?: number;
    memoryBytes?: number;
    memoryLimitBytes?: number;
    memoryPercent?: number;
    netRxBytes?: number;
    netTxBytes?: number;
    blockReadBytes?: number;
    blockWriteBytes?: number;
    pids?: number;
}

/** One line of `docker stats --no-stream --format '{{json .}}'`. */
export function parseStats(row: Record<string, any>): ContainerStats {
    const [mem, limit] = parsePair(row.MemUsage);
    const [rx, tx] = parsePair(row.NetIO);
    const [read, write] = parsePair(row.BlockIO);
    const pids = Number(row.PIDs);
    return {
        id: String(row.ID ?? row.Container),
        name: String(row.Name),
        cpuPercent: parsePercent(row.CPUPerc),
        memoryBytes: mem,
        memoryLimitBytes: limit,
        memoryPercent: parsePercent(row.MemPerc),
        netRxBytes: rx,
        netTxBytes: tx,
        blockReadBytes: read,
        blockWriteBytes: write,
        pids: Number.isFinite(pids) ? pids : undefined,
    };
}

export interface Image {
    repository: string;
    tag: string;
    id: string;
    digest: string;
    created: string;
    sizeBytes?: number;
}

/** One line of `docker images --digests --format '{{json .}}'`. */
export function parseImage(row: Record<string, any>): Image {
    return { repository: String(row.Repository), tag: String(row.Tag), id: String(row.ID), digest: String(row.Digest ?? ""), created: String(row.CreatedSince ?? ""), sizeBytes: parseSize(row.Size ?? "") };
}

export interface HostFacts {
    cpus?: number;
    load?: [number, number, number];
    memoryTotalBytes?: number;
    memoryAvailableBytes?: number;
    diskTotalBytes?: number;
    diskUsedBytes?: number;
    /** dockerd's version, or undefined when it does not answer. */
    docker?: string;
    dockerError?: string;
}

/** The key=value lines of templates/scripts/cli-host-facts.sh.hbs. */
export function parseHostFacts(text: string): HostFacts {
    const kv: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const num = (k: string) => (kv[k] !== undefined && kv[k] !== "" && Number.isFinite(Number(kv[k])) ? Number(kv[k]) : undefined);
    const kib = (k: string) => (num(k) === undefined ? undefined : num(k)! * 1024);
    const load = (kv.load ?? "").split(/\s+/).map(Number);
    return {
        cpus: num("cpus"),
        load: load.length === 3 && load.every(Number.isFinite) ? (load as [number, number, number]) : undefined,
        memoryTotalBytes: kib("mem_total_kb"),
        memoryAvailableBytes: kib("mem_available_kb"),
        diskTotalBytes: kib("disk_total_kb"),
        diskUsedBytes: kib("disk_used_kb"),
        docker: kv.docker || undefined,
        dockerError: kv.docker_error || undefined,
    };
}

/** Sections of a script's output, each opened by a line "@@<name> [arguments]". */
export function sections(text: string): { name: string; arg: string; body: string }[] {
    const out: { name: string; arg: string; body: string }[] = [];
    for (const line of text.split("\n")) {
        const m = /^@@(\S+)\s*(.*)$/.exec(line);
        if (m) out.push({ name: m[1], arg: m[2], body: "" });
        else if (out.length) out[out.length - 1].body += `${line}\n`;
    }
    return out;
}

export interface BackendHealth {
    /** The backend's CLI name: "<vcl>.<backend>". */
    cliName: string;
    app: string;
    node: string;
    /** Admin state: "probe" (auto), or forced "healthy"/"sick". */
    admin: string;
    healthy: boolean;
    /** Good probes in the window, when the backend has a probe. */
    good?: number;
    window?: number;
}

/**
 * The replicas' backends in `varnishadm backend.list -j`: `[3, ["backend.list", "-j"], <time>,
 * {"<vcl>.<backend>": {"type": "backend", "admin_health": "probe", "probe_message": [good, window,
 * "healthy"|"sick"], "last_change": <time>}, ...}]` (Varnish 6.6 and later; before, probe_message
 * was the text "<good>/<window> good|bad"). Matrix names a replica's backend `<app>__<node>`
 * (core/render.ts); directors and other backends are left out.
 */
export function parseBackendList(text: string): BackendHealth[] {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        throw new Error(`backend.list -j: not JSON: ${text.trim().slice(0, 120)}`);
    }
    if (!Array.isArray(doc) || typeof doc[3] !== "object" || doc[3] === null) throw new Error("backend.list -j: unexpected shape (expected [version, command, time, {backends}])");
    const out: BackendHealth[] = [];
    for (const [cliName, b] of Object.entries(doc[3] as Record<string, any>)) {
        const m = /^(?:.*\.)?([a-z][a-z0-9-]*)__([a-z][a-z0-9-]*)$/.exec(cliName);
        if (!m || b?.type !== "backend") continue;
        const admin = String(b.admin_health ?? "probe");
        let probeHealthy: boolean | undefined;
        let good: number | undefined;
        let window: number | undefined;
        const msg = b.probe_message;
        if (Array.isArray(msg)) {
            [good, window] = [Number(msg[0]), Number(msg[1])];
            probeHealthy = msg[2] === "healthy";
        } else if (typeof msg === "string") {
            const t = /^(\d+)\/(\d+)\s+(good|bad)/.exec(msg.trim());
            if (t) [good, window, probeHealthy] = [Number(t[1]), Number(t[2]), t[3] === "good"];
            else probeHealthy = /healthy/.test(msg) && !/sick/.test(msg);
        }
        const healthy = admin === "healthy" ? true : admin === "sick" ? false : probeHealthy ?? false;
        out.push({ cliName, app: m[1], node: m[2], admin, healthy, good, window });
    }
    return out;
}

/**
 * Counter values of `varnishstat -j`: `{"version": 1, "timestamp": ..., "counters": {"<name>":
 * {"value": n, ...}}}` (Varnish 6.5 and later), or the older flat object of counters.
 */
export function parseVarnishstat(text: string): Record<string, number> {
    let doc: any;
    try {
        doc = JSON.parse(text);
    } catch {
        throw new Error(`varnishstat -j: not JSON: ${text.trim().slice(0, 120)}`);
    }
    const counters = doc && typeof doc.counters === "object" ? doc.counters : doc;
    const out: Record<string, number> = {};
    for (const [name, c] of Object.entries(counters ?? {})) {
        if (c && typeof c === "object" && typeof (c as any).value === "number") out[name] = (c as any).value;
    }
    return out;
}

/** Requests per second between two samples taken `seconds` apart, per counter name. */
export function rates(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
    const out: Record<string, number> = {};
    if (!(seconds > 0)) return out;
    for (const [name, v] of Object.entries(after)) {
        if (before[name] !== undefined) out[name] = Math.max(0, v - before[name]) / seconds;
    }
    return out;
}
