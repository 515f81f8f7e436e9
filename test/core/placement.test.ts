import { assignPorts, eligibleNodes, spread } from "../../core/placement";
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
