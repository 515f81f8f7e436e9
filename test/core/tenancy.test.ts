// Tenants, instances, pools and allocations: the allocators, every validation message, and the
// stability promise (appending an allocation or an instance never moves an earlier one), tested
// with fast-check over random configs.
import fc from "fast-check";
import { buildModel } from "../../core/config";
import { publicKeyProblem } from "../../core/formats";
import { allocateMachines, CoreMap, cpuList, formatCpuList, hashSlots, rateKbit, subnets24 } from "../../core/tenancy";
import { baseConfig, configEnv, configProblems } from "./fixtures";

type Config = Record<string, any>;
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1uXvQv3Qj9w8i2a8sJmOq7ZKc3vJ8Y1pQx0Wn1dUa alice@laptop";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2m7xWq5Zc0dD8eY3gH1kL4nB6vT9rS2uP0oQ7iM5aX bob@desk";

/** The base config with cores and memory on every node, two tenants, a pool, an allocation and instances. */
function tenantConfig(): Config {
    const c = baseConfig();
    c.nodes.forEach((n: Config) => Object.assign(n, { cpus: 4, memory: "4g" }));
    return Object.assign(c, {
        tenants: [
            { name: "acme", keys: [KEY_A] },
            { name: "beta", keys: [KEY_B] },
        ],
        pools: [{ name: "web", selector: { group: "web" } }, { name: "all", nodes: ["node1", "node2", "node3"] }, { name: "batch", selector: { group: "batch" } }],
        allocations: [{ name: "acme-ci", pool: "batch", count: 1, tenant: "acme" }],
        instances: [
            { tenant: "acme", name: "dev1", node: "node1", cpus: 2, memory: "1g", disk: "2g", bandwidth: { in: "10mbit", out: "5mbit" } },
            { tenant: "beta", name: "dev1", pool: "web", cpus: 1, memory: "512m" },
        ],
    });
}

const mutate = (f: (c: Config) => void) => {
    const c = tenantConfig();
    f(c);
    return c;
};

describe("allocators", () => {
    test("machines: exclusive allocations never share, shared ones share with each other only", () => {
        const r = allocateMachines([
            { name: "a", nodes: ["n1", "n2", "n3"], count: 2, exclusive: true },
            { name: "b", nodes: ["n1", "n2", "n3"], count: 1, exclusive: false },
            { name: "c", nodes: ["n1", "n2", "n3"], count: 1, exclusive: false },
            { name: "d", nodes: ["n1", "n2", "n3"], count: 1, exclusive: true },
        ]);
        const a = (r.get("a") as { nodes: string[] }).nodes;
        const free = ["n1", "n2", "n3"].filter((n) => !a.includes(n));
        expect(a).toHaveLength(2);
        expect(r.get("b")).toEqual({ nodes: free });
        expect(r.get("c")).toEqual({ nodes: free });
        // d would need a machine nobody holds: there is none.
        expect(r.get("d")).toEqual({ free: [] });
    });

    test("machines: 2 of 3, then a third allocation of 2 fails naming the one free, then fits once the first is freed", () => {
        const pool = ["n1", "n2", "n3"];
        const first = allocateMachines([{ name: "a", nodes: pool, count: 2, exclusive: true }, { name: "b", nodes: pool, count: 2, exclusive: true }]);
        const taken = (first.get("a") as { nodes: string[] }).nodes;
        expect(first.get("b")).toEqual({ free: pool.filter((n) => !taken.includes(n)) });
        expect(allocateMachines([{ name: "b", nodes: pool, count: 2, exclusive: true }]).get("b")).toEqual({ nodes: expect.any(Array) });
    });

    test("cores: lowest free first, conflicts named by owner", () => {
        const m = new CoreMap(4);
        m.pin([1], "app x");
        expect(m.take(2, "i1")).toEqual([0, 2]);
        expect(m.take(2, "i2")).toBeUndefined();
        expect(m.free()).toEqual([3]);
        expect([...m.conflicts([0, 1, 3])]).toEqual([["i1", [0]], ["app x", [1]]]);
    });

    test("CPU lists round-trip", () => {
        expect(cpuList("0-2,5,4")).toEqual([0, 1, 2, 4, 5]);
        expect(formatCpuList([5, 0, 1, 2, 4])).toBe("0-2,4-5");
        fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1 }), (cores) => expect(cpuList(formatCpuList(cores))).toEqual([...cores].sort((a, b) => a - b))));
    });

    test("hashed slots: distinct, in range, and a key keeps its slot when others are added unless it clashes", () => {
        fc.assert(
            fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 30 }), (keys) => {
                const slots = hashSlots(keys, 64);
                const values = [...slots.values()];
                expect(new Set(values).size).toBe(values.length);
                for (const v of values) expect(v! >= 0 && v! < 64).toBe(true);
            }),
        );
        expect(hashSlots(["a", "b", "c"], 2).get("c")).toBeUndefined();
    });

    test("subnets and rates", () => {
        const s = subnets24("172.31.0.0/16");
        expect(s.count).toBe(256);
        expect(s.subnet(3)).toMatchObject({ subnet: "172.31.3.0/24", gateway: "172.31.3.1" });
        expect(s.subnet(3).host(7)).toBe("172.31.3.7");
        expect(rateKbit("10mbit")).toBe(10000);
        expect(rateKbit("1.5gbit")).toBe(1500000);
    });

    test("public keys: whole, typed lines only", () => {
        expect(publicKeyProblem(KEY_A)).toBeUndefined();
        expect(publicKeyProblem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1uXvQv3Qj9w8i2a8sJmOq7ZKc3vJ8Y1pQx0Wn1")).toMatch(/damaged/);
        expect(publicKeyProblem("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHm1uXvQv3Qj9w8i2a8sJmOq7ZKc3vJ8Y1pQx0Wn1dUa")).toMatch(/is not a ssh-rsa key/);
    });
});

describe("the model of a valid tenant config", () => {
    const m = buildModel(tenantConfig(), configEnv());

    test("instances: node, pinned cores, address in their tenant's /24, DNS name", () => {
        const [a, b] = m.tenancy.instances;
        expect(a).toMatchObject({ tenant: "acme", name: "dev1", node: "node1", cpuset: "0-1", memory: 1024, disk: 2048, fqdn: "dev1.acme.matrix", user: "dev", rootLogin: false });
        expect(b).toMatchObject({ tenant: "beta", name: "dev1", fqdn: "dev1.beta.matrix", memory: 512 });
        expect(["node1", "node2"]).toContain(b.node);
        const net = (x: typeof a) => m.tenancy.networks.find((n) => n.tenant === x.tenant && n.node === x.node)!;
        for (const x of [a, b]) expect(x.address.startsWith(net(x).subnet.replace(/0\/24$/, ""))).toBe(true);
        expect(net(a).subnet).not.toBe(net(b).subnet);
        expect(net(a).bridge.length).toBeLessThanOrEqual(15);
    });

    test("pools, allocations and capacity", () => {
        expect(m.tenancy.pools).toEqual([{ name: "web", nodes: ["node1", "node2"] }, { name: "all", nodes: ["node1", "node2", "node3"] }, { name: "batch", nodes: ["node3"] }]);
        expect(m.tenancy.allocations).toEqual([{ name: "acme-ci", pool: "batch", tenant: "acme", purpose: undefined, exclusive: true, nodes: ["node3"] }]);
        const node1 = m.tenancy.capacity.find((c) => c.node === "node1")!;
        expect(node1.cores).toBe(4);
        expect(node1.pinnedCores.length).toBeGreaterThanOrEqual(2);
    });
});

type Row = [name: string, mistake: (c: Config) => void, problems: string | string[]];

const bad: Row[] = [
    ["unknown tenant", (c) => (c.instances[0].tenant = "gamma"), 'matrix:instances[0].tenant: tenant "gamma" is not defined in matrix:tenants (known: acme, beta)'],
    ["duplicate tenant", (c) => (c.tenants[1].name = "acme"), ['matrix:tenants[1].name: "acme" is already defined at matrix:tenants[0]', 'matrix:instances[1].tenant: tenant "beta" is not defined in matrix:tenants (known: acme)']],
    ["tenant named like a system user", (c) => (c.tenants[1].name = "sshd"), ['matrix:tenants[1].name: "sshd" is a system user of the jump host (tenants log in there by name); choose another name', 'matrix:instances[1].tenant: tenant "beta" is not defined in matrix:tenants (known: acme, sshd)']],
    ["duplicate instance", (c) => (c.instances[1].tenant = "acme"), 'matrix:instances[1].name: "dev1" of tenant "acme" is already defined at matrix:instances[0]'],
    ["malformed key", (c) => (c.tenants[0].keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1uXvQv3Qj9w8i2a8s"]), "matrix:tenants[0].keys[0]: is damaged: an ssh-ed25519 key is 68 base64 characters; paste the whole .pub line"],
    ["private key pasted", (c) => (c.tenants[0].keys = ["-----BEGIN OPENSSH PRIVATE KEY-----"]), "matrix:tenants[0].keys[0]: is a private key or PEM file; give the public key (the .pub file's line)"],
    ["no keys", (c) => (c.tenants[0].keys = []), "matrix:tenants[0].keys: must list at least one SSH public key (key-only logins)"],
    ["DNS name taken by an app", (c) => (c.applications[0].route = { hostname: "dev1.acme.matrix" }), 'matrix:instances[0].name: makes the DNS name dev1.acme.matrix, which is already app "shop"\'s hostname; choose another instance name'],
    ["not placed", (c) => delete c.instances[0].node, 'matrix:instances[0]: is not placed: set "node", "allocation", "pool" or "selector"'],
    ["placed twice", (c) => (c.instances[0].pool = "web"), "matrix:instances[0]: set only one of node, pool: an instance is placed one way"],
    ["unknown node", (c) => (c.instances[0].node = "node9"), 'matrix:instances[0].node: node "node9" is not defined in matrix:nodes (known: node1, node2, node3)'],
    ["the manager", (c) => (c.instances[0].node = "manager"), 'matrix:instances[0].node: "manager" is the manager, which runs no instances; name a node of matrix:nodes'],
    ["unknown pool", (c) => Object.assign(c.instances[1], { pool: "gpu" }), 'matrix:instances[1].pool: pool "gpu" is not defined in matrix:pools (known: web, all, batch)'],
    ["cpus and cpuset", (c) => (c.instances[0].cpuset = "0"), 'matrix:instances[0].cpus: set either "cpus" (cores the allocator picks) or "cpuset" (cores you pick), not both'],
    [
        "cores over-allocated on a node",
        (c) => c.instances.push({ tenant: "acme", name: "dev2", node: "node1", cpus: 3 }),
        `matrix:instances[2].cpus: 3 cores do not fit: node "node1" has 1 free core of 4; lower it, free cores, or place the instance on another node`,
    ],
    [
        "explicit cpuset on pinned cores",
        (c) => c.instances.push({ tenant: "acme", name: "dev2", node: "node1", cpuset: "1-2" }),
        'matrix:instances[2].cpuset: cores 1 on node "node1" are already pinned to instance acme/dev1; choose free cores (free: 3) or set shareCores: true',
    ],
    ["explicit cpuset shared on purpose", (c) => c.instances.push({ tenant: "acme", name: "dev2", node: "node1", cpuset: "1-2", shareCores: true }), []],
    [
        "instance cpuset on an app's cpuset",
        (c) => {
            c.applications[1].cpuset = "2-3";
            c.instances.push({ tenant: "acme", name: "dev2", node: "node1", cpuset: "3" });
        },
        'matrix:instances[2].cpuset: cores 3 on node "node1" are already pinned to app "blog" (matrix:applications[1].cpuset); choose free cores (free: none) or set shareCores: true',
    ],
    ["cpuset beyond the node's cores", (c) => c.instances.push({ tenant: "acme", name: "dev2", node: "node2", cpuset: "7" }), 'matrix:instances[2].cpuset: names CPU 7, which node "node2" lacks (4 cores, counted from 0); use cores 0-3'],
    ["pinning on a node without declared cores", (c) => delete c.nodes[0].cpus, "matrix:instances[0].cpus: cannot be pinned: node \"node1\" does not declare its cores (matrix:nodes[0].cpus), which pinning needs; set it"],
    [
        "memory over-allocated on a node",
        (c) => c.instances.push({ tenant: "acme", name: "dev2", node: "node1", memory: "3500m" }),
        'matrix:instances[2].memory: 3500 MiB does not fit: node "node1" has 2560 MiB free of 4096 MiB (memory limits of instances and apps); lower it or place the instance on another node',
    ],
    [
        "no room in a pool",
        (c) => Object.assign(c.instances[1], { cpus: 3, memory: "4200m" }),
        'matrix:instances[1].pool: no node of pool "web" has room for this instance (3 cores, 4200 MiB): node "node1" has 2 free cores of 4 and has 3072 MiB free of 4096 MiB; node "node2" has 4096 MiB free of 4096 MiB; lower its limits, free capacity, or add nodes' as unknown as string,
    ],
    ["reservation above limit", (c) => (c.instances[0].memoryReservation = "2g"), "matrix:instances[0].memoryReservation: (2048 MiB) must be ≤ memory (1024 MiB): the soft limit sits below the hard one"],
    ["tiny disk", (c) => (c.instances[0].disk = 10), "matrix:instances[0].disk: must be at least 64 MiB (sshd and a shell need room)"],
    ["bad rate", (c) => (c.instances[0].bandwidth = { in: "10MB/s" }), 'matrix:instances[0].bandwidth.in: must be a rate like "512kbit", "10mbit" or "1gbit"'],
    ["root as user", (c) => (c.instances[0].user = "root"), 'matrix:instances[0].user: is the login user matrix creates; to allow root logins set rootLogin: true and keep a user such as "dev"'],
    ["shareCores without cpuset", (c) => (c.instances[0].shareCores = true), 'matrix:instances[0].shareCores: applies to an explicit "cpuset" only (the allocator never shares); remove it or set cpuset'],
    ["pool with selector and nodes", (c) => (c.pools[0].nodes = ["node1"]), 'matrix:pools[0]: set either "selector" ({group, labels}) or "nodes" (a list), not both or neither'],
    ["pool of an unknown node", (c) => (c.pools[1].nodes = ["node1", "node7"]), 'matrix:pools[1].nodes[1]: node "node7" is not defined in matrix:nodes (known: node1, node2, node3)'],
    ["pool matching nothing", (c) => (c.pools[0].selector = { group: "gpu" }), "matrix:pools[0].selector: matches no node (the nodes' groups: batch, web); fix the selector or add nodes to the group"],
    ["allocation of an unknown pool", (c) => (c.allocations[0].pool = "gpu"), 'matrix:allocations[0].pool: pool "gpu" is not defined in matrix:pools (known: web, all, batch)'],
    ["allocation for nobody", (c) => delete c.allocations[0].tenant, "matrix:allocations[0]: must say whom it is for: \"tenant\" (a tenant's name) or \"purpose\" (a few words)"],
    [
        "machines over-allocated",
        (c) => c.allocations.push({ name: "batch", pool: "all", count: 3, purpose: "nightly batch" }),
        expect.stringMatching(/^matrix:allocations\[1\]\.count: allocation "batch" asks for 3 machines of pool "all", which has 2 free machines \(node\d, node\d\) for an exclusive allocation; lower count, free an allocation before it, or add nodes to the pool$/) as unknown as string,
    ],
    ["allocation of another tenant", (c) => (c.instances[1] = { tenant: "beta", name: "ci1", allocation: "acme-ci" }), 'matrix:instances[1].allocation: allocation "acme-ci" is for tenant "acme", not "beta"; use one of this tenant\'s allocations or a pool'],
    ["an exclusive allocation keeps other allocations off its machine", (c) => c.allocations.push({ name: "beta-ci", pool: "batch", count: 1, tenant: "beta", exclusive: false }), 'matrix:allocations[1].count: allocation "beta-ci" asks for 1 machine of pool "batch", which has 0 free machines for a shared allocation; lower count, free an allocation before it, or add nodes to the pool'],
    ["tenant range overlaps the network", (c) => (c.tenancy = { cidr: "10.10.0.0/16" }), 'matrix:tenancy.cidr: 10.10.0.0/16 overlaps the private network 10.10.10.0/24; choose a range of its own, e.g. "172.31.0.0/16"'],
    ["jump port on the router's", (c) => (c.tenancy = { jumpPort: 80 }), "matrix:tenancy.jumpPort: 80 is matrix:router.port (both on the manager); choose another port, e.g. 2222"],
    ["via an unknown host", (c) => (c.nodes[0].ssh = { via: "gateway", hostKey: "ssh-ed25519 AAAA" }), 'matrix:nodes[0].ssh.via: host "gateway" is not defined (known: manager, node1, node2, node3); name the manager or another host'],
    ["via without a pinned host key", (c) => (c.nodes[0].ssh = { via: "manager" }), "matrix:nodes[0].ssh.hostKey: is required with ssh.via (the host is not reachable to be scanned on first contact); set it to the host's key, e.g. from: ssh manager ssh-keyscan -t ed25519 10.10.10.11"],
    ["tenant range with host bits", (c) => (c.tenancy = { cidr: "172.31.5.0/16" }), "matrix:tenancy.cidr: has host bits set; the range is 172.31.0.0/16"],
    ["tenant name longer than a Unix user name", (c) => c.tenants.push({ name: "b".repeat(33), keys: [KEY_B] }), `matrix:tenants[2].name: is 33 characters; a tenant is a user on the jump host, at most 32`],
    [
        "two instances, one container name",
        (c) => {
            c.instances[0].name = "x-y";
            c.tenants.push({ name: "acme-x", keys: [KEY_A] });
            c.instances.push({ tenant: "acme-x", name: "y", node: "node2", memory: "64m" });
        },
        "matrix:instances[2].name: its container would be named matrix-acme-x-y, as acme/x-y's; rename one of them",
    ],
    ["via as a default", (c) => (c.ssh.via = "manager"), "matrix:ssh.via: applies per host: set it under <host>.ssh.via for the hosts behind the jump host"],
];

describe("bad tenant input: one problem per mistake, at its key, with the fix", () => {
    test("the tenant config is valid", () => expect(configProblems(tenantConfig())).toEqual([]));
    test.each(bad)("%s", (...row) => {
        const [, mistake, expected] = row as Row;
        expect(configProblems(mutate(mistake))).toEqual(Array.isArray(expected) ? expected : [expected]);
    });
});

describe("stability: appending never moves what was placed", () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    const nodes = fc.integer({ min: 2, max: 6 });
    const allocation = fc.record({ pool: fc.constantFrom("p1", "p2"), count: fc.integer({ min: 1, max: 3 }), exclusive: fc.boolean() });
    const instance = fc.record({ tenant: fc.constantFrom("acme", "beta"), way: fc.constantFrom("pool", "node", "alloc"), node: fc.integer({ min: 1, max: 6 }), cpus: fc.integer({ min: 1, max: 2 }), memory: fc.constantFrom(256, 512, 1024) });

    function config(n: number, allocs: Config[], insts: Config[]): Config {
        const c = baseConfig();
        c.nodes = Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, address: `10.10.10.${11 + i}`, groups: [i % 2 ? "odd" : "even"], cpus: 4, memory: "2g" }));
        c.applications = [];
        c.tenants = [{ name: "acme", keys: [KEY_A] }, { name: "beta", keys: [KEY_B] }];
        c.pools = [{ name: "p1", selector: { group: "even" } }, { name: "p2", nodes: c.nodes.map((x: Config) => x.name) }];
        c.allocations = allocs.map((a, i) => ({ name: `al${names[i] ?? i}`, tenant: "acme", ...a }));
        c.instances = insts.map((x, i) => {
            const place = x.way === "node" ? { node: `node${Math.min(x.node, n)}` } : x.way === "alloc" ? { allocation: "ala" } : { pool: "p2" };
            return { tenant: x.way === "alloc" ? "acme" : x.tenant, name: `i${i}`, cpus: x.cpus, memory: x.memory, ...place };
        });
        return c;
    }
    const model = (c: Config) => {
        try {
            return buildModel(c, configEnv());
        } catch {
            return undefined;
        }
    };

    test("an appended allocation or instance leaves every earlier one where it was (nodes, cores, address)", () => {
        fc.assert(
            fc.property(nodes, fc.array(allocation, { maxLength: 4 }), fc.array(instance, { maxLength: 6 }), allocation, instance, fc.boolean(), (n, allocs, insts, extraA, extraI, addAlloc) => {
                const before = model(config(n, allocs, insts));
                fc.pre(before !== undefined);
                const after = model(addAlloc ? config(n, [...allocs, extraA], insts) : config(n, allocs, [...insts, extraI]));
                if (!after) return; // the addition itself did not fit: a config error, nothing moved
                const prev = before!.tenancy;
                const next = after.tenancy;
                expect(next.allocations.slice(0, prev.allocations.length)).toEqual(prev.allocations);
                expect(next.instances.slice(0, prev.instances.length).map((x) => [x.node, x.cpuset, x.address])).toEqual(prev.instances.map((x) => [x.node, x.cpuset, x.address]));
            }),
            { numRuns: 300 },
        );
    });

    test("the same config gives the same model", () => {
        fc.assert(
            fc.property(nodes, fc.array(allocation, { maxLength: 4 }), fc.array(instance, { maxLength: 6 }), (n, allocs, insts) => {
                const a = model(config(n, allocs, insts));
                expect(model(config(n, allocs, insts))).toEqual(a);
            }),
            { numRuns: 100 },
        );
    });
});

test("lab mode with tenants: the default published ports (SSH, router, registry, TLS, monitor, jump) do not collide", () => {
    const c = tenantConfig();
    c.mode = "lab";
    delete c.ssh;
    delete c.network.dhcp;
    expect(configProblems(c)).toEqual([]);
});
