// Placement: which nodes run an app's replicas, and on which host port.
// Placement is a pure function of the app's own name and the node list, so adding or changing
// one app never moves another app's replicas (stable resource names). Automatic ports are too,
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
 * Rendezvous (highest-random-weight) hashing: each node gets a score from hash(app, node);
 * the `count` best nodes win. Deterministic, one replica per node, spread evenly across
 * apps, and adding a node moves only the replicas that land on it.
 * The result keeps the nodes' configured order.
 */
export function spread(app: string, nodes: Host[], count: number): Host[] {
    const score = (n: Host) => sha256(`${app}\0${n.name}`);
    const chosen = new Set([...nodes].sort((a, b) => score(b).localeCompare(score(a))).slice(0, count));
    return nodes.filter((n) => chosen.has(n));
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
