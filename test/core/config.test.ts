import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { baseImages } from "../../core/build";
import { cpuList } from "../../core/tenancy";
import { buildModel, ConfigEnv } from "../../core/config";
import { CONFIG_KEYS, schemas } from "../../core/schema";
import { goDuration } from "../../core/replica";
import { baseConfig, configEnv, configProblems } from "./fixtures";

const env = configEnv;
const base = baseConfig;
const problems = configProblems;

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
            tls: { enabled: true, port: 443, proxyPort: 8443, redirectHttp: false, hostnames: [] },
        });
        for (const r of m.applications.flatMap((a) => a.replicas)) expect(r.hostPort >= 20000 && r.hostPort <= 29999).toBe(true);
        expect(m.applications.map((a) => [a.restart, a.director])).toEqual([["unless-stopped", "round_robin"], ["unless-stopped", "round_robin"]]);
        expect(m.lab).toEqual({ sshPortBase: 2221, routerPort: 8080, registryPort: 5000, routerTlsPort: 8443, monitorPort: 9090, jumpPort: 2200 });
        expect(m.monitoring).toEqual({ enabled: true, port: 9090, bind: m.manager.address, intervalSeconds: 5, historySeconds: 1800, cadvisorPort: 4194, housekeepingInterval: "5s", cadvisorImage: undefined });
        expect(m.tls).toEqual({});
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

    test("the image tag changes with the Dockerfile's content (also outside the context) and its base image", () => {
        const tag = (dockerfile: string, ids: Record<string, string> = {}, args?: Record<string, string>) =>
            (buildModel(mutate((c) => (c.applications[0].build = { context: "apps/shop", dockerfile: "../Dockerfile.shop", args })), {
                ...env({ "/p/apps/Dockerfile.shop": dockerfile }),
                isFile: () => true,
                imageId: (ref) => ids[ref],
            }).applications[0].source as { hash: string }).hash;
        const df = "ARG BASE=debian:bookworm-slim\nFROM ${BASE} AS build\nRUN make\nFROM build\nCOPY . /app\n";
        const t = tag(df, { "debian:bookworm-slim": "sha256:aaa" });
        expect(tag(df.replace("RUN make", "RUN make all"), { "debian:bookworm-slim": "sha256:aaa" })).not.toBe(t);
        // A rebuilt base image (same name, new id) makes a new tag: nodes pull the new image.
        expect(tag(df, { "debian:bookworm-slim": "sha256:bbb" })).not.toBe(t);
        // A build arg that picks another base image.
        expect(tag(df, { "debian:bookworm-slim": "sha256:aaa", "debian:trixie-slim": "sha256:aaa" }, { BASE: "debian:trixie-slim" })).not.toBe(t);
        expect(tag(df, { "debian:bookworm-slim": "sha256:aaa" })).toBe(t);
    });

    test("base images: ARGs resolved (build args first), earlier stages and scratch left out", () => {
        const df = "ARG BASE=debian:bookworm-slim\nARG TAG\nFROM ${BASE} AS build\nFROM build\nFROM --platform=linux/amd64 nginx:$TAG\nFROM scratch\n";
        expect(baseImages(df, {})).toEqual(["debian:bookworm-slim", "nginx:"]);
        expect(baseImages(df, { TAG: "1.27", BASE: "alpine:3" })).toEqual(["alpine:3", "nginx:1.27"]);
    });

    test("health check times are kept as Go prints them (the provider reads them back so)", () => {
        const m = buildModel(mutate((c) => (c.applications[0].health = { interval: "60s", timeout: "0.5s", startPeriod: "90s", deployTimeout: "3m" })), env());
        expect(m.applications[0].health).toMatchObject({ interval: "1m0s", timeout: "500ms", startPeriod: "1m30s" });
        expect(["1s", "2s", "10s", "1.5s", "2h", "1m"].map(goDuration)).toEqual(["1s", "2s", "10s", "1.5s", "2h0m0s", "1m0s"]);
    });

    test("security: least privilege by default, each part overridable", () => {
        expect(buildModel(base(), env()).applications[0].security).toEqual({ noNewPrivileges: true, capDrop: ["NET_RAW"], capAdd: [], readOnlyRootfs: false, pidsLimit: 512 });
        const m = buildModel(mutate((c) => (c.applications[0].security = { noNewPrivileges: false, capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"], readOnlyRootfs: true, user: "1000:1000", pidsLimit: 64 })), env());
        expect(m.applications[0].security).toEqual({ noNewPrivileges: false, capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"], readOnlyRootfs: true, user: "1000:1000", pidsLimit: 64 });
    });

    test("router timeouts per app: each unset one is the router's", () => {
        const m = buildModel(mutate((c) => ((c.router = { firstByteTimeout: "20s" }), (c.applications[0].timeouts = { firstByte: "3s", connect: "200ms" }))), env());
        expect(m.applications[0].timeouts).toEqual({ connect: "200ms", firstByte: "3s", betweenBytes: "10s" });
        expect(m.applications[1].timeouts).toEqual({ connect: "500ms", firstByte: "20s", betweenBytes: "10s" });
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

describe("Pulumi.yaml declares every setting (pulumi config and the Console list them)", () => {
    type Declared = { type?: string; description?: string; default?: unknown };
    const declared = (YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")).config ?? {}) as Record<string, Declared>;
    const scalars = ["cloudName", "mode", "domain", "baseImage", "platform", "planFile"];

    test("each setting, with a description, and nothing else", () => {
        expect(Object.keys(declared).sort()).toEqual([...CONFIG_KEYS].sort());
        for (const key of CONFIG_KEYS) expect([key, (declared[key].description ?? "").length > 20]).toEqual([key, true]);
    });

    test("scalars are strings; structured keys have no type; only the required keys lack a default (Pulumi requires those)", () => {
        for (const key of CONFIG_KEYS) expect([key, declared[key].type]).toEqual([key, scalars.includes(key) ? "string" : undefined]);
        expect(CONFIG_KEYS.filter((k) => !("default" in declared[k]))).toEqual(["network", "manager", "nodes"]);
    });

    test("its defaults are the schema's own: with them applied, as Pulumi does, every config builds the same model", () => {
        for (const key of ["cloudName", "mode", "domain", "baseImage"] as const) expect(declared[key].default).toBe(schemas[key].parse(undefined));
        const defaults = Object.fromEntries(Object.entries(declared).filter(([, d]) => "default" in d).map(([k, d]) => [k, d.default]));
        const lab = { ...base(), mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" } };
        for (const config of [base(), lab]) {
            const { ssh, ...set } = config;
            expect(buildModel({ ...defaults, ...set, ...(ssh ? { ssh } : {}) }, env())).toEqual(buildModel(config, env()));
        }
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

    test("Pulumi.example-tenants.yaml (the README's worked example) validates: pools, allocations, pinned cores", () => {
        const m = buildModel(load("Pulumi.example-tenants.yaml"), real([]));
        const t = m.tenancy;
        expect(t.allocations.map((a) => [a.name, a.nodes])).toEqual([["acme-ci", ["node3"]], ["load-tests", expect.any(Array)]]);
        expect(t.allocations[1].nodes.every((n) => ["node1", "node2"].includes(n))).toBe(true);
        const ci = t.instances.find((i) => i.name === "ci1")!;
        expect(ci.node).toBe("node3"); // the allocation's machine
        expect(t.instances.find((i) => i.tenant === "beta")!.cpuset).toBe("3");
        // No two instances share a core on a node.
        for (const node of m.nodes.map((n) => n.name)) {
            const cores = t.instances.filter((i) => i.node === node && i.cpuset).flatMap((i) => cpuList(i.cpuset!));
            expect(new Set(cores).size).toBe(cores.length);
        }
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
