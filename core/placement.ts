// Placement: which nodes run an app's replicas, and on which host port.
// Placement is a pure function of the config: the apps in order, each on the least loaded of
// its eligible nodes (ties by rendezvous hashing), so an app appended to the config never moves
// another's replicas (stable resource names). Automatic ports depend on the app's own name,
// except on a clash of hashed ports, where the app sorting first by name keeps its port.
import { sha256 } from "./hash";
import { Host, Replica } from "./model";
import { Problem } from "./problems";

export interface Selector {
    group?: string;
    labels?: Record<string, string>;
}

export function eligibleNodes(nodes: Host[], selector: Selector | undefined): Host[] {
    return nodes.filter(
        (n) =>
            (!selector?.group || n.groups.includes(selector.group)) &&
            Object.entries(selector?.labels ?? {}).every(([k, v]) => n.labels[k] === v),
    );
}

/**
 * Rendezvous (highest-random-weight) order of `nodes` for `app`: each node scores
 * hash(app, node). Deterministic, and independent of every other app.
 */
function byScore(app: string, nodes: Host[]): Host[] {
    const score = new Map(nodes.map((n) => [n, sha256(`${app}\0${n.name}`)]));
    return [...nodes].sort((a, b) => score.get(b)!.localeCompare(score.get(a)!));
}

/**
 * The `count` nodes an app's replicas go to, one per node: the least loaded (replicas of the
 * apps placed before it), ties broken by rendezvous score. Without loads: the `count` best
 * scores, so adding a node moves only the replicas that land on it. Keeps the nodes' order.
 */
export function spread(app: string, nodes: Host[], count: number, load: ReadonlyMap<string, number> = new Map()): Host[] {
    const ranked = byScore(app, nodes);
    const rank = new Map(ranked.map((n, i) => [n, i]));
    const chosen = new Set(ranked.sort((a, b) => (load.get(a.name) ?? 0) - (load.get(b.name) ?? 0) || rank.get(a)! - rank.get(b)!).slice(0, count));
    return nodes.filter((n) => chosen.has(n));
}

/** An app's placement request: fixed nodes (config `nodes`, plan file) or a spread over eligible nodes. */
export type PlacementRequest = { app: string; nodes: string[] } | { app: string; eligible: Host[]; count: number };

/**
 * Places apps in order (the config's, then the plan file's): each spread app takes the least
 * loaded of its eligible nodes, counting the replicas of every app before it. An app's nodes
 * depend only on the apps before it, so an app appended to the list moves no other; apps with
 * the same replica count and no selector end up within one replica of each other per node.
 */
export function placeApps(requests: PlacementRequest[]): Map<string, string[]> {
    const load = new Map<string, number>();
    const placed = new Map<string, string[]>();
    for (const r of requests) {
        const nodes = "nodes" in r ? r.nodes : spread(r.app, r.eligible, r.count, load).map((n) => n.name);
        for (const n of nodes) load.set(n, (load.get(n) ?? 0) + 1);
        placed.set(r.app, nodes);
    }
    return placed;
}

export interface PortRequest {
    app: string;
    /** Config path or plan line, for messages. */
    where: string;
    /** Per node (and its address): an explicit host port, or undefined to auto-assign. */
    nodes: { node: string; address: string; hostPort?: number }[];
}

/**
 * Explicit ports first (collisions are errors), then automatic ones: an app starts probing at
 * a port derived from its name and takes the first one free on all of its nodes, so its
 * replicas share one port and its port does not depend on other apps (except on a rare clash).
 */
export function assignPorts(requests: PortRequest[], range: { start: number; end: number }): { replicas: Map<string, Replica[]>; problems: Problem[] } {
    const used = new Map<string, Map<number, string>>(); // node -> port -> "app (where)"
    const problems: Problem[] = [];
    const autoPort = new Map<string, number>();
    const take = (node: string, port: number, owner: string) => {
        if (!used.has(node)) used.set(node, new Map());
        used.get(node)!.set(port, owner);
    };
    for (const r of requests) {
        for (const { node, hostPort } of r.nodes) {
            if (hostPort === undefined) continue;
            const other = used.get(node)?.get(hostPort);
            if (other) problems.push({ where: r.where, message: `host port ${hostPort} on node "${node}" is already used by ${other}; choose another port` });
            else take(node, hostPort, `app "${r.app}"`);
        }
    }
    const size = range.end - range.start + 1;
    const auto = requests.filter((r) => r.nodes.some((n) => n.hostPort === undefined)).sort((a, b) => a.app.localeCompare(b.app));
    for (const r of auto) {
        const autoNodes = r.nodes.filter((n) => n.hostPort === undefined).map((n) => n.node);
        const first = parseInt(sha256(r.app).slice(0, 8), 16) % size;
        let port: number | undefined;
        for (let i = 0; i < size && port === undefined; i++) {
            const p = range.start + ((first + i) % size);
            if (autoNodes.every((n) => !used.get(n)?.has(p))) port = p;
        }
        if (port === undefined) {
            problems.push({ where: r.where, message: `no free host port left in matrix:hostPorts ${range.start}-${range.end}; widen the range` });
            continue;
        }
        autoNodes.forEach((n) => take(n, port!, `app "${r.app}"`));
        autoPort.set(r.app, port);
    }
    // Port 0 only where a problem was reported above; callers stop on problems.
    const replicas = new Map(
        requests.map((r) => [r.app, r.nodes.map((n) => ({ node: n.node, address: n.address, hostPort: n.hostPort ?? autoPort.get(r.app) ?? 0, fixedPort: n.hostPort !== undefined }))]),
    );
    return { replicas, problems };
}
