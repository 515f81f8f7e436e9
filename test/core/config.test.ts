import * as fs from "fs";
import * as path from "path";
import { buildModel, ConfigEnv } from "../../core/config";
import { ConfigError } from "../../core/problems";
import { goDuration } from "../../core/replica";

/** A fake world: build contexts under /p/apps/* exist, secrets listed here are set. */
function env(files: Record<string, string> = {}, secrets: string[] = ["registryPassword", "dbPassword", "sshKey"]): ConfigEnv {
    return {
        projectDir: "/p",
        secretExists: (k) => secrets.includes(k),
        readFile: (f) => files[f],
        isFile: (f) => f in files || /^\/p\/apps\/[^/]+\/Dockerfile$/.test(f) || f === "/home/op/.ssh/id_ed25519",
        hashDir: (d) => `hash-of-${d.split("/").pop()}`,
    };
}

function base(): Record<string, any> {
    return {
        mode: "ssh",
        domain: "matrix",
        network: { cidr: "10.10.10.0/24", dhcp: { start: "10.10.10.100", end: "10.10.10.200" } },
        manager: { name: "manager", address: "10.10.10.1" },
        nodes: [
            { name: "node1", address: "10.10.10.11", groups: ["web"], labels: { zone: "a" } },
            { name: "node2", address: "10.10.10.12", groups: ["web"], labels: { zone: "b" } },
            { name: "node3", address: "10.10.10.13", groups: ["batch"] },
        ],
        ssh: { user: "root", privateKey: { path: "/home/op/.ssh/id_ed25519" } },
        applications: [
            { name: "shop", build: "apps/shop", port: 8080, replicas: 2 },
            { name: "blog", image: "nginx:1.27", port: 80, nodes: ["node1", "node3"] },
        ],
    };
}

function problems(raw: Record<string, any>, e = env()): string[] {
    try {
        buildModel(raw, e);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.where}: ${p.message}`);
        throw err;
    }
    return [];
}

function mutate(f: (c: Record<string, any>) => void): Record<string, any> {
    const c = base();
    f(c);
    return c;
}

describe("valid config", () => {
    test("the base config builds a model", () => {
        const m = buildModel(base(), env());
        expect(m.manager.fqdn).toBe("manager.matrix");
        expect(m.registry.address).toBe("manager.matrix:5000");
        expect(m.registry.pushAddress).toBe("10.10.10.1:5000");
        expect(m.nodes.map((n) => n.ssh)).toEqual(
            ["10.10.10.11", "10.10.10.12", "10.10.10.13"].map((host) => ({ host, port: 22, user: "root", privateKey: { path: "/home/op/.ssh/id_ed25519" } })),
        );
        const shop = m.applications.find((a) => a.name === "shop")!;
        expect(shop.source).toEqual({ kind: "build", dir: "/p/apps/shop", dockerfile: "Dockerfile", args: {}, hash: expect.stringMatching(/^[0-9a-f]{16}$/) });
        expect(shop.replicas).toHaveLength(2);
        expect(new Set(shop.replicas.map((r) => r.node)).size).toBe(2);
        expect(shop.route).toEqual({ path: "/shop/", hostname: undefined, stripPrefix: false });
        expect(shop.health).toEqual({ path: "/shop/", expectStatus: 200, interval: "1s", timeout: "2s", retries: 3, startPeriod: "10s", deployTimeoutSeconds: 60 });
        expect(shop.update).toEqual({ parallelism: 1 });
        expect(m.applications.find((a) => a.name === "blog")!.replicas.map((r) => r.node)).toEqual(["node1", "node3"]);
        // Every replica carries its node's address (explicit nodes and spread alike).
        expect(m.applications.find((a) => a.name === "blog")!.replicas.map((r) => r.address)).toEqual(["10.10.10.11", "10.10.10.13"]);
        for (const r of shop.replicas) expect(r.address).toBe(m.nodes.find((n) => n.name === r.node)!.address);
    });

    test("defaults: cloud name, mode and domain come from the schema alone", () => {
        const { mode, domain, ...rest } = base();
        const m = buildModel({ ...rest, ssh: undefined, network: { cidr: "10.10.10.0/24" } }, env());
        expect([m.cloudName, m.mode, m.domain, m.manager.fqdn]).toEqual(["matrix", "lab", "matrix", "manager.matrix"]);
        // Pulumi.yaml declares no second copy of any default.
        expect(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")).not.toMatch(/^config:/m);
    });

    test("a bad domain is reported once; the default domain stands in for the other checks", () => {
        expect(problems({ ...base(), domain: "Bad_Domain", applications: [{ name: "shop", build: "apps/shop", port: 8080, replicas: 1, route: { hostname: "manager.matrix" } }] })).toEqual([
            'matrix:domain: must be a DNS domain like "matrix" or "cloud.example": lowercase letters, digits and "-", in labels separated by "."',
            'matrix:applications[0].route.hostname: "manager.matrix" is the DNS name of host "manager"; choose another hostname',
        ]);
    });

    test("defaults: router probe, retries, lab ports", () => {
        const m = buildModel({ ...base(), mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" } }, env());
        expect(m.router).toEqual({
            port: 80, adminPort: 6082, retries: 2, cache: false,
            probe: { interval: "1s", timeout: "1s", window: 3, threshold: 2 },
            connectTimeout: "500ms", firstByteTimeout: "30s", betweenBytesTimeout: "10s",
        });
        for (const r of m.applications.flatMap((a) => a.replicas)) expect(r.hostPort >= 20000 && r.hostPort <= 29999).toBe(true);
        expect(m.applications.map((a) => [a.restart, a.director])).toEqual([["unless-stopped", "round_robin"], ["unless-stopped", "round_robin"]]);
        expect(m.lab).toEqual({ sshPortBase: 2221, routerPort: 8080, registryPort: 5000 });
        expect(m.manager.ssh).toEqual({ host: "127.0.0.1", port: 2221, user: "root" });
        expect(m.nodes[2].ssh.port).toBe(2224);
        expect(m.network.gateway).toBe("10.10.10.254");
        expect(m.registry.pushAddress).toBe("127.0.0.1:5000");
    });

    test("route hostname true means <app>.<domain>; stripPrefix moves the health check to /", () => {
        const m = buildModel(mutate((c) => (c.applications[0].route = { hostname: true, stripPrefix: true })), env());
        expect(m.applications[0].route.hostname).toBe("shop.matrix");
        expect(m.applications[0].health.path).toBe("/");
    });

    test("apps may share a virtual host on different paths, and a path on different hosts", () => {
        const m = buildModel(mutate((c) => {
            c.applications[0].route = { hostname: "www.matrix", path: "/" };
            c.applications[1].route = { hostname: "www.matrix", path: "/blog/" };
            c.applications.push({ name: "wiki", image: "wiki:1", port: 80, nodes: ["node2"], route: { path: "/" } });
        }), env());
        const routes = m.applications.map((a) => [a.name, a.route.hostname, a.route.path]);
        expect(routes).toEqual([["shop", "www.matrix", "/"], ["blog", "www.matrix", "/blog/"], ["wiki", undefined, "/"]]);
    });

    test("env: plain values and secret references", () => {
        const m = buildModel(mutate((c) => (c.applications[0].env = { MODE: "prod", DB_PASSWORD: { secret: "dbPassword" } })), env());
        expect(m.applications[0].env).toEqual([
            { name: "MODE", value: "prod" },
            { name: "DB_PASSWORD", secret: "dbPassword" },
        ]);
    });

    test("sizes: MiB numbers and units", () => {
        const m = buildModel(mutate((c) => Object.assign(c.applications[0], { memory: "1g", memoryReservation: 256 })), env());
        expect(m.applications[0].memory).toBe(1024);
        expect(m.applications[0].memoryReservation).toBe(256);
    });
});

// Each bad input yields exactly this one message (key path + fix).
const bad: [string, (c: Record<string, any>) => void, string][] = [
    ["missing network", (c) => delete c.network, 'matrix:network: is required, e.g. {cidr: "10.10.10.0/24"}'],
    ["missing nodes", (c) => delete c.nodes, "matrix:nodes: is required: a list of {name, address}"],
    ["empty nodes", (c) => (c.nodes = []), "matrix:nodes: needs at least one node"],
    ["bad mode", (c) => (c.mode = "cloud"), 'matrix:mode: must be "lab" (hosts are local containers) or "ssh" (existing machines)'],
    ["bad domain", (c) => (c.domain = "Bad_Domain"), 'matrix:domain: must be a DNS domain like "matrix" or "cloud.example": lowercase letters, digits and "-", in labels separated by "."'],
    ["bad cidr", (c) => (c.network.cidr = "10.10.10.0/33"), 'matrix:network.cidr: must be an IPv4 CIDR like "10.10.10.0/24"'],
    ["unknown key", (c) => (c.network.cdir = "x"), 'matrix:network.cdir: unknown key; did you mean "cidr"?'],
    ["bad address", (c) => (c.nodes[1].address = "10.10.10.300"), 'matrix:nodes[1].address: must be an IPv4 address like "10.10.10.11"'],
    ["address outside cidr", (c) => (c.nodes[1].address = "10.10.11.12"), "matrix:nodes[1].address: 10.10.11.12 is not a host address inside 10.10.10.0/24"],
    ["duplicate address", (c) => (c.nodes[2].address = "10.10.10.11"), "matrix:nodes[2].address: 10.10.10.11 is already used by matrix:nodes[0]"],
    ["duplicate host name", (c) => (c.nodes[1].name = "node1"), 'matrix:nodes[1].name: "node1" is already used by matrix:nodes[0]; host names must be unique'],
    ["bad host name", (c) => (c.nodes[0].name = "Node_1"), 'matrix:nodes[0].name: must be a name of lowercase letters, digits and "-", starting with a letter, e.g. "node1"'],
    ["address is gateway", (c) => (c.nodes[0].address = "10.10.10.254"), "matrix:nodes[0].address: 10.10.10.254 is the network gateway; pick another address or set matrix:network.gateway"],
    ["address in dhcp range", (c) => (c.nodes[0].address = "10.10.10.150"), "matrix:nodes[0].address: 10.10.10.150 is inside the DHCP range 10.10.10.100-10.10.10.200; static addresses must be outside it"],
    ["dhcp reversed", (c) => (c.network.dhcp = { start: "10.10.10.200", end: "10.10.10.100" }), "matrix:network.dhcp: start 10.10.10.200 is after end 10.10.10.100; swap them"],
    ["dhcp in lab mode", (c) => Object.assign(c, { mode: "lab", ssh: undefined }), "matrix:network.dhcp: DHCP is not used in lab mode (Docker assigns the lab hosts' addresses); remove it"],
    ["ssh mode without key", (c) => delete c.ssh.privateKey, 'matrix:ssh.privateKey: is required in ssh mode: {path: "~/.ssh/id_ed25519"} or {secret: "sshPrivateKey"} (or per host under <host>.ssh.privateKey)'],
    ["key file missing", (c) => (c.ssh.privateKey = { path: "/nope/id" }), "matrix:ssh.privateKey.path: /nope/id does not exist on this machine"],
    ["key secret not set", (c) => (c.ssh.privateKey = { secret: "missingKey" }), 'matrix:ssh.privateKey: secret config key "missingKey" is not set; run: pulumi config set --secret missingKey <value>'],
    ["ssh settings in lab mode", (c) => Object.assign(c, { mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" }, manager: { ...c.manager, ssh: { port: 22 } } }), "matrix:manager.ssh: is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it"],
    ["registry password secret missing", (c) => (c.registry = { auth: { username: "ops", password: { secret: "nope" } } }), 'matrix:registry.auth.password: secret config key "nope" is not set; run: pulumi config set --secret nope <value>'],
    ["registry password inline", (c) => (c.registry = { auth: { username: "ops", password: "hunter2" } }), 'matrix:registry.auth.password: must be {secret: "<config key>"}'],
    ["registry port clashes with router", (c) => (c.registry = { port: 80 }), "matrix:registry.port: must differ from matrix:router.port (both listen on the manager)"],
    ["port out of range", (c) => (c.router = { port: 70000 }), "matrix:router.port: must be ≤ 65535"],
    ["bad duration", (c) => (c.router = { connectTimeout: "5 seconds" }), 'matrix:router.connectTimeout: must be a duration like "500ms", "2s" or "1m"'],
    ["bad director", (c) => (c.applications[0].director = "least_conn"), 'matrix:applications[0].director: must be one of "round_robin", "random", "fallback", "hash"'],
    ["build and image", (c) => (c.applications[0].image = "x:1"), 'matrix:applications[0]: needs exactly one of "build" (a directory with a Dockerfile) or "image" (an image reference)'],
    ["no Dockerfile", (c) => (c.applications[0].build = "src/shop"), "matrix:applications[0].build: /p/src/shop/Dockerfile does not exist; the build context must contain a Dockerfile"],
    ["too many replicas", (c) => Object.assign(c.applications[0], { replicas: 3, selector: { group: "web" } }), "matrix:applications[0].replicas: must be ≤ number of eligible nodes (2) matching the selector; lower it or add nodes"],
    ["unknown node", (c) => (c.applications[1].nodes = ["node1", "node9"]), 'matrix:applications[1].nodes[1]: node "node9" is not defined in matrix:nodes (known: node1, node2, node3)'],
    ["node listed twice", (c) => (c.applications[1].nodes = ["node1", "node1"]), 'matrix:applications[1].nodes[1]: node "node1" is listed twice; one replica per node'],
    ["nodes and replicas", (c) => (c.applications[1].replicas = 2), 'matrix:applications[1]: set either "nodes" (explicit) or "replicas" (spread), not both'],
    ["not placed", (c) => delete c.applications[0].replicas, 'matrix:applications[0]: is not placed: set "nodes", "replicas", or add lines to the plan file'],
    ["missing port", (c) => delete c.applications[0].port, "matrix:applications[0].port: is required: the port the app listens on inside its container"],
    ["duplicate app", (c) => (c.applications[1].name = "shop"), 'matrix:applications[1].name: "shop" is already defined at matrix:applications[0]'],
    ["duplicate route", (c) => (c.applications[1].route = { path: "/shop/" }), 'matrix:applications[1].route.path: "/shop/" is already routed to app "shop"'],
    ["duplicate route on a virtual host", (c) => { c.applications[0].route = { hostname: "www.matrix", path: "/" }; c.applications[1].route = { hostname: "www.matrix", path: "/" }; }, 'matrix:applications[1].route.path: "/" on www.matrix is already routed to app "shop"'],
    ["app hostname shadows a host", (c) => (c.applications[1].route = { hostname: "node2.matrix" }), 'matrix:applications[1].route.hostname: "node2.matrix" is the DNS name of host "node2"; choose another hostname'],
    ["app hostname shadows the registry", (c) => (c.applications[1].route = { hostname: "registry.matrix" }), 'matrix:applications[1].route.hostname: "registry.matrix" is the DNS name of the registry; choose another hostname'],
    ["route without slash", (c) => (c.applications[1].route = { path: "/blog" }), 'matrix:applications[1].route.path: must start and end with "/", e.g. "/shop/"'],
    ["reservation above limit", (c) => Object.assign(c.applications[0], { memory: "128m", memoryReservation: "256m" }), "matrix:applications[0].memoryReservation: (256 MiB) must be ≤ memory (128 MiB): the soft limit sits below the hard one"],
    ["bad cpuset", (c) => (c.applications[0].cpuset = "0-"), 'matrix:applications[0].cpuset: must be a CPU list like "0-1" or "0,2"'],
    ["env secret not set", (c) => (c.applications[0].env = { TOKEN: { secret: "apiToken" } }), 'matrix:applications[0].env.TOKEN: secret config key "apiToken" is not set; run: pulumi config set --secret apiToken <value>'],
    ["host port collision", (c) => Object.assign(c, { applications: [{ ...c.applications[1], hostPort: 8080 }, { name: "b2", image: "x", port: 80, nodes: ["node3"], hostPort: 8080 }] }), 'matrix:applications[1]: host port 8080 on node "node3" is already used by app "blog"; choose another port'],
    ["selector only with replicas", (c) => (c.applications[1].selector = { group: "web" }), 'matrix:applications[1].selector: only applies with "replicas"; remove it or use replicas'],
    ["hostPorts reversed", (c) => (c.hostPorts = { start: 30000, end: 20000 }), "matrix:hostPorts: start 30000 is after end 20000"],
    ["plan file missing", (c) => (c.planFile = "applications.plan"), "matrix:planFile: file /p/applications.plan does not exist; create it or remove the key"],
    ["drained manager", (c) => (c.manager.drain = true), "matrix:manager.drain: applies to nodes only (the manager runs no replicas); remove it"],
    ["app pinned to a drained node", (c) => (c.nodes[2].drain = true), 'matrix:applications[1].nodes[1]: node "node3" is drained (drain: true in matrix:nodes); list another node, or use replicas to let placement choose, or undrain the node'],
    ["drain leaves too few nodes", (c) => { c.nodes[1].drain = true; Object.assign(c.applications[0], { replicas: 2, selector: { group: "web" } }); }, "matrix:applications[0].replicas: must be ≤ number of eligible nodes (1) matching the selector, drained nodes excluded; lower it or add nodes"],
    ["version of an image app", (c) => (c.applications[1].version = "0123456789abcdef"), "matrix:applications[1].version: pins a built app to an earlier build; for an image app set image to the earlier reference instead"],
    ["bad version", (c) => (c.applications[0].version = "latest"), 'matrix:applications[0].version: must be a build tag as listed in the stack output applications.<app>.version, e.g. "3f2a9c1d0b7e5a64"'],
    ["bad health path", (c) => (c.applications[0].health = { path: "/$(reboot)" }), 'matrix:applications[0].health.path: must be a URL path starting with "/"'],
    ["zero parallelism", (c) => (c.applications[0].update = { parallelism: 0 }), "matrix:applications[0].update.parallelism: must be ≥ 1"],
    ["keep nothing", (c) => (c.registry = { keep: 0 }), "matrix:registry.keep: must be ≥ 1 (the image in use)"],
    ["bad capability", (c) => (c.applications[0].security = { capDrop: ["net_raw"] }), 'matrix:applications[0].security.capDrop[0]: is not a Linux capability; did you mean "NET_RAW"?'],
];

describe("bad config: one exact message each", () => {
    test.each(bad)("%s", (_name, f, message) => {
        expect(problems(mutate(f))).toEqual([message]);
    });

    test("every bad input has its own message (no two cases test the same thing)", () => {
        expect(new Set(bad.map((b) => b[2])).size).toBe(bad.length);
    });

    test("all problems are reported at once, in one error", () => {
        const all = problems(
            mutate((c) => {
                c.mode = "cloud";
                c.nodes[1].address = "10.10.11.12";
                c.applications[0].director = "x";
                c.router = { retries: -1 };
            }),
        );
        expect(all).toHaveLength(4);
        expect(all.map((p) => p.split(":")[1])).toEqual(["mode", "router.retries", "applications[0].director", "nodes[1].address"]);
    });

    test("the error message lists every problem and says nothing changed", () => {
        expect(() => buildModel(mutate((c) => (c.mode = "x")), env())).toThrow(/invalid matrix configuration \(1 problem\); nothing was changed:\n {2}matrix:mode: must be/);
    });
});

describe("day-2 settings", () => {
    test("drain: replicas spread over the other eligible nodes; undrained, they come back", () => {
        const nodesOf = (c: Record<string, any>) => buildModel(c, env()).applications.find((a) => a.name === "shop")!.replicas.map((r) => r.node);
        const before = nodesOf(base());
        const drainedNode = before[0];
        const after = nodesOf(mutate((c) => (c.nodes.find((n: any) => n.name === drainedNode).drain = true)));
        expect(after).not.toContain(drainedNode);
        expect(after).toHaveLength(2);
        // Rendezvous placement: the replica that was not on the drained node stays put.
        expect(after).toContain(before[1]);
        expect(nodesOf(base())).toEqual(before);
    });

    test("a drained node in the plan file is an error at its line", () => {
        const c = { ...mutate((x) => (x.nodes[0].drain = true)), planFile: "applications.plan", applications: [] };
        expect(problems(c, env({ "/p/applications.plan": "web node2 9000 80\nweb node1 9000 80\n" }))).toEqual([
            'applications.plan:2: node "node1" is drained (drain: true in matrix:nodes); move this line to another node, or undrain the node',
        ]);
    });

    test("version pins a built app to its earlier tag, without a build", () => {
        const m = buildModel(mutate((c) => (c.applications[0].version = "0123456789abcdef")), env());
        expect(m.applications[0].source).toEqual({ kind: "pinned", tag: "0123456789abcdef" });
    });

    test("the image tag changes with the files, the Dockerfile's name and the build args", () => {
        const tag = (build: unknown, hashDir = (d: string) => `hash-of-${d}`) =>
            (buildModel(mutate((c) => (c.applications[0].build = build)), { ...env(), hashDir, isFile: () => true }).applications[0].source as { hash: string }).hash;
        const t = tag("apps/shop");
        expect(t).toMatch(/^[0-9a-f]{16}$/);
        expect(tag({ context: "apps/shop" })).toBe(t);
        expect(tag({ context: "apps/shop", args: { VERSION: "v2" } })).not.toBe(t);
        expect(tag({ context: "apps/shop", dockerfile: "Dockerfile.prod" }, (d) => `hash-of-${d}`)).not.toBe(t);
        expect(tag("apps/shop", () => "other-files")).not.toBe(t);
    });

    test("health check times are kept as Go prints them (the provider reads them back so)", () => {
        const m = buildModel(mutate((c) => (c.applications[0].health = { interval: "60s", timeout: "0.5s", startPeriod: "90s", deployTimeout: "3m" })), env());
        expect(m.applications[0].health).toMatchObject({ interval: "1m0s", timeout: "500ms", startPeriod: "1m30s" });
        expect(["1s", "2s", "10s", "1.5s", "2h", "1m"].map(goDuration)).toEqual(["1s", "2s", "10s", "1.5s", "2h0m0s", "1m0s"]);
    });

    test("security: least privilege by default, each part overridable", () => {
        expect(buildModel(base(), env()).applications[0].security).toEqual({ noNewPrivileges: true, capDrop: ["NET_RAW"], capAdd: [], readOnlyRootfs: false });
        const m = buildModel(mutate((c) => (c.applications[0].security = { noNewPrivileges: false, capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"], readOnlyRootfs: true, user: "1000:1000" })), env());
        expect(m.applications[0].security).toEqual({ noNewPrivileges: false, capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"], readOnlyRootfs: true, user: "1000:1000" });
    });

    test("health and update settings reach the model; the deploy timeout in seconds", () => {
        const m = buildModel(mutate((c) => Object.assign(c.applications[0], { health: { command: ["/bin/check"], deployTimeout: "2m", retries: 5 }, update: { parallelism: 2 } })), env());
        expect(m.applications[0].health).toMatchObject({ command: ["/bin/check"], retries: 5, deployTimeoutSeconds: 120, path: "/shop/" });
        expect(m.applications[0].update).toEqual({ parallelism: 2 });
        expect(m.registry.keep).toBe(5);
    });
});

describe("plan file", () => {
    const plan = (text: string) => env({ "/p/applications.plan": text });
    const withPlan = (c: Record<string, any>) => ({ ...c, planFile: "applications.plan", applications: [] });

    test("seed-style plan places replicas with their ports and builds apps/<name>", () => {
        const m = buildModel(withPlan(base()), plan("# app node ext int\nsimplewebapp1\tnode1\t8081\t8080\nsimplewebapp1 node2 8081 8080 # second\n\nsimplewebapp2 node3 8082 8080\n"));
        expect(m.applications.map((a) => [a.name, a.replicas, a.placedBy, a.containerPort])).toEqual([
            ["simplewebapp1", [{ node: "node1", address: "10.10.10.11", hostPort: 8081, fixedPort: true }, { node: "node2", address: "10.10.10.12", hostPort: 8081, fixedPort: true }], "plan", 8080],
            ["simplewebapp2", [{ node: "node3", address: "10.10.10.13", hostPort: 8082, fixedPort: true }], "plan", 8080],
        ]);
        expect(m.applications[0].source).toMatchObject({ kind: "build", dir: "/p/apps/simplewebapp1" });
    });

    test("a config entry supplies the image of a planned app", () => {
        const m = buildModel({ ...withPlan(base()), applications: [{ name: "web", image: "nginx:1.27" }] }, plan("web node1 9000 80\n"));
        expect(m.applications[0]).toMatchObject({ name: "web", source: { kind: "image", ref: "nginx:1.27" }, containerPort: 80, replicas: [{ node: "node1", hostPort: 9000 }] });
    });

    test.each([
        ["web node1 9000", "applications.plan:1: expected 4 fields \"app node external_port internal_port\", got 3: \"web node1 9000\""],
        ["web node1 90000 80", 'applications.plan:1: external_port "90000" must be an integer 1-65535'],
        ["web node9 9000 80", 'applications.plan:1: node "node9" is not defined in matrix:nodes (known: node1, node2, node3)'],
        ["web node1 9000 80\nweb node1 9001 80", 'applications.plan:2: app "web" is already placed on node "node1" at line 1; one replica per node'],
        ["web node1 9000 80\nweb node2 9000 81", 'applications.plan:2: internal_port differs between lines for app "web" (80, 81); an app listens on one port'],
        ["Web node1 9000 80", 'applications.plan:1: app name "Web" must be a name of lowercase letters, digits and "-", starting with a letter, e.g. "node1"'],
    ])("%j", (text, message) => {
        expect(problems(withPlan(base()), plan(text))).toEqual([message]);
    });

    test("an app placed by both config and plan is an error", () => {
        expect(problems({ ...base(), planFile: "applications.plan" }, plan("shop node1 9000 8080\n"))).toEqual([
            "matrix:applications[0].nodes: is also placed by applications.plan (lines 1); use one or the other",
        ]);
    });
});

describe("shipped stack files", () => {
    const fs = require("fs") as typeof import("fs");
    const YAML = require("yaml") as typeof import("yaml");
    const load = (file: string) =>
        Object.fromEntries(Object.entries(YAML.parse(fs.readFileSync(`${__dirname}/../../${file}`, "utf8")).config).map(([k, v]) => [k.replace(/^matrix:/, ""), v]));
    const real = (secrets: string[]): ConfigEnv => ({
        ...env({}, secrets),
        projectDir: `${__dirname}/../..`,
        readFile: (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined),
        isFile: (f) => f.endsWith("id_ed25519") || fs.existsSync(f),
    });

    test("Pulumi.dev.yaml: lab, manager + 3 nodes, both sample apps on 2 different nodes", () => {
        const m = buildModel(load("Pulumi.dev.yaml"), real([]));
        expect(m.mode).toBe("lab");
        expect(m.nodes.map((n) => n.address)).toEqual(["10.10.10.11", "10.10.10.12", "10.10.10.13"]);
        for (const a of m.applications) expect(new Set(a.replicas.map((r) => r.node)).size).toBe(2);
        // The second app fills the node the first one left idle.
        expect(m.applications.map((a) => a.replicas.map((r) => r.node))).toEqual([["node1", "node3"], ["node2", "node3"]]);
    });

    test("Pulumi.example-ssh.yaml with the seed's plan file", () => {
        const m = buildModel(load("Pulumi.example-ssh.yaml"), real(["registryPassword"]));
        expect(m.manager).toMatchObject({ name: "matrix-manager", address: "10.10.10.1", fqdn: "matrix-manager.matrix" });
        expect(m.registry.address).toBe("matrix-manager.matrix:5000");
        expect(m.applications.map((a) => [a.name, a.placedBy, a.replicas])).toEqual([
            ["simplewebapp1", "plan", [{ node: "node1", address: "10.10.10.11", hostPort: 8081, fixedPort: true }, { node: "node2", address: "10.10.10.12", hostPort: 8081, fixedPort: true }]],
            ["simplewebapp2", "plan", [{ node: "node2", address: "10.10.10.12", hostPort: 8082, fixedPort: true }, { node: "node3", address: "10.10.10.13", hostPort: 8082, fixedPort: true }]],
        ]);
        expect(m.applications[0]).toMatchObject({ memory: 128, memoryReservation: 64, cpus: 0.5, route: { hostname: "simplewebapp1.matrix" } });
    });
});
