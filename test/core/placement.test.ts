import fc from "fast-check";
import { assignPorts, eligibleNodes, placeApps, PlacementRequest, spread } from "../../core/placement";
import { Host } from "../../core/model";

const node = (name: string, groups: string[] = [], labels: Record<string, string> = {}): Host => ({
    name, role: "node", address: "10.0.0.1", fqdn: `${name}.m`, ssh: { host: "h", port: 22, user: "root" }, groups, labels, drain: false,
});
const nodes = ["n1", "n2", "n3", "n4", "n5"].map((n, i) => node(n, i < 3 ? ["web"] : ["batch"], { zone: i % 2 ? "b" : "a" }));

describe("eligibleNodes", () => {
    test("group and labels both filter", () => {
        expect(eligibleNodes(nodes, { group: "web" }).map((n) => n.name)).toEqual(["n1", "n2", "n3"]);
        expect(eligibleNodes(nodes, { group: "web", labels: { zone: "a" } }).map((n) => n.name)).toEqual(["n1", "n3"]);
        expect(eligibleNodes(nodes, undefined)).toHaveLength(5);
    });
});

describe("spread", () => {
    test("deterministic, distinct nodes, configured order", () => {
        const a = spread("shop", nodes, 3);
        expect(spread("shop", nodes, 3)).toEqual(a);
        expect(new Set(a.map((n) => n.name)).size).toBe(3);
        expect(a.map((n) => nodes.indexOf(n))).toEqual([...a.map((n) => nodes.indexOf(n))].sort());
    });
    test("adding a node moves at most the replicas that land on it", () => {
        const before = spread("shop", nodes, 2).map((n) => n.name);
        const after = spread("shop", [...nodes, node("n6")], 2).map((n) => n.name);
        expect(after.filter((n) => n !== "n6").every((n) => before.includes(n))).toBe(true);
    });
    test("spreads many apps roughly evenly", () => {
        const load = new Map<string, number>();
        for (let i = 0; i < 500; i++) for (const n of spread(`app${i}`, nodes, 2)) load.set(n.name, (load.get(n.name) ?? 0) + 1);
        // 1000 replicas over 5 nodes: 200 each on average.
        for (const n of nodes) expect(load.get(n.name)).toBeGreaterThan(150);
    });
});

describe("placeApps (property tests)", () => {
    const nodeNames = fc.uniqueArray(fc.stringMatching(/^n[0-9]{1,2}$/), { minLength: 1, maxLength: 8 });
    const appNames = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 12 });
    /** Apps spread over all nodes, each with 1..N replicas, or pinned to some nodes. */
    const world = fc
        .tuple(nodeNames, appNames)
        .chain(([ns, as]) =>
            fc.tuple(
                fc.constant(ns.map((n) => node(n))),
                fc.tuple(...as.map((a) => fc.tuple(fc.constant(a), fc.integer({ min: 1, max: ns.length }), fc.boolean(), fc.subarray(ns, { minLength: 1 })))),
            ),
        )
        .map(([ns, apps]) => ({
            nodes: ns,
            requests: apps.map(([app, count, pinned, pins]): PlacementRequest => (pinned ? { app, nodes: pins } : { app, eligible: ns, count })),
        }));

    test("deterministic; one replica per node, on eligible nodes, as many as asked", () => {
        fc.assert(
            fc.property(world, ({ requests }) => {
                const placed = placeApps(requests);
                expect(placeApps(requests)).toEqual(placed);
                for (const r of requests) {
                    const got = placed.get(r.app)!;
                    expect(new Set(got).size).toBe(got.length);
                    if ("nodes" in r) expect(got).toEqual(r.nodes);
                    else {
                        expect(got).toHaveLength(r.count);
                        for (const n of got) expect(r.eligible.map((e) => e.name)).toContain(n);
                    }
                }
            }),
        );
    });

    test("appending an app (or several) never moves another", () => {
        fc.assert(
            fc.property(world, fc.integer({ min: 0, max: 12 }), ({ requests }, cut) => {
                const before = placeApps(requests.slice(0, cut));
                const after = placeApps(requests);
                for (const [app, nodes] of before) expect(after.get(app)).toEqual(nodes);
            }),
        );
    });

    test("apps with the same replica count, spread over all nodes, load every node within one replica", () => {
        fc.assert(
            fc.property(nodeNames, appNames, fc.integer({ min: 1, max: 8 }), (ns, as, r) => {
                const count = Math.min(r, ns.length);
                const all = ns.map((n) => node(n));
                const placed = placeApps(as.map((app) => ({ app, eligible: all, count })));
                const load = new Map(ns.map((n) => [n, 0]));
                for (const nodes of placed.values()) for (const n of nodes) load.set(n, load.get(n)! + 1);
                expect(Math.max(...load.values()) - Math.min(...load.values())).toBeLessThanOrEqual(1);
            }),
        );
    });

    test("draining a node (leaving it out) moves every replica off it, and no app before the first one it held", () => {
        fc.assert(
            fc.property(world, fc.nat(), ({ nodes: ns, requests }, k) => {
                fc.pre(ns.length > 1);
                const drained = ns[k % ns.length].name;
                const spreadOnly = requests.filter((r): r is Extract<PlacementRequest, { eligible: Host[] }> => "eligible" in r).map((r) => ({ ...r, count: Math.min(r.count, ns.length - 1) }));
                const before = placeApps(spreadOnly);
                const during = placeApps(spreadOnly.map((r) => ({ ...r, eligible: r.eligible.filter((n) => n.name !== drained) })));
                for (const nodes of during.values()) expect(nodes).not.toContain(drained);
                const firstHeld = spreadOnly.findIndex((r) => before.get(r.app)!.includes(drained));
                for (const r of firstHeld < 0 ? spreadOnly : spreadOnly.slice(0, firstHeld)) expect(during.get(r.app)).toEqual(before.get(r.app));
            }),
        );
    });

    test("the dev stack: two apps of 2 replicas on 3 nodes use all three nodes", () => {
        const three = ["node1", "node2", "node3"].map((n) => node(n));
        const placed = placeApps(["simplewebapp1", "simplewebapp2"].map((app) => ({ app, eligible: three, count: 2 })));
        expect(new Set([...placed.values()].flat()).size).toBe(3);
    });
});

describe("assignPorts", () => {
    const range = { start: 20000, end: 20009 };
    test("explicit ports kept; automatic ones avoid them on the same node and are shared by an app's replicas", () => {
        const { replicas, problems } = assignPorts(
            [
                { app: "a", where: "x", nodes: [{ node: "n1", address: "10.0.0.1" }, { node: "n2", address: "10.0.0.2" }] },
                { app: "b", where: "y", nodes: [{ node: "n1", address: "10.0.0.1", hostPort: 8080 }] },
            ],
            range,
        );
        expect(problems).toEqual([]);
        expect(replicas.get("b")).toEqual([{ node: "n1", address: "10.0.0.1", hostPort: 8080, fixedPort: true }]);
        const [r1, r2] = replicas.get("a")!;
        // Each replica keeps its node's address.
        expect([r1.address, r2.address]).toEqual(["10.0.0.1", "10.0.0.2"]);
        expect(r1.hostPort).toBe(r2.hostPort);
        expect(r1.hostPort).toBeGreaterThanOrEqual(20000);
        expect(r1.hostPort).toBeLessThanOrEqual(20009);
    });
    test("an app's automatic port does not change when another app is added", () => {
        const one = assignPorts([{ app: "shop", where: "x", nodes: [{ node: "n1", address: "10.0.0.1" }] }], { start: 20000, end: 29999 });
        const two = assignPorts(
            [
                { app: "aaa", where: "y", nodes: [{ node: "n1", address: "10.0.0.1" }] },
                { app: "shop", where: "x", nodes: [{ node: "n1", address: "10.0.0.1" }] },
            ],
            { start: 20000, end: 29999 },
        );
        expect(two.replicas.get("shop")).toEqual(one.replicas.get("shop"));
    });
    test("no collision on a node even when the range is nearly full", () => {
        const reqs = Array.from({ length: 10 }, (_, i) => ({ app: `app${i}`, where: `w${i}`, nodes: [{ node: "n1", address: "10.0.0.1" }] }));
        const { replicas, problems } = assignPorts(reqs, range);
        expect(problems).toEqual([]);
        expect(new Set([...replicas.values()].map((r) => r[0].hostPort)).size).toBe(10);
    });
    test("a full range is reported", () => {
        const reqs = Array.from({ length: 11 }, (_, i) => ({ app: `app${i}`, where: `w${i}`, nodes: [{ node: "n1", address: "10.0.0.1" }] }));
        // Automatic ports go out in name order: app9 sorts last and finds none left.
        expect(assignPorts(reqs, range).problems).toEqual([{ where: "w9", message: `no free host port left in matrix:hostPorts ${range.start}-${range.end}; widen the range` }]);
    });
});
