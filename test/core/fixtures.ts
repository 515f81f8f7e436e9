// A realistic validated model (ssh mode, the cloudmatrix seed's layout) for core tests, and the
// a valid stack config in a fake world, for validation tests.
import { buildModel, ConfigEnv } from "../../core/config";
import { Application, Host, Model } from "../../core/model";
import { ConfigError } from "../../core/problems";

/** Deep partial: nested plain objects merge, arrays and everything else replace. */
export type Overrides<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Overrides<T[K]> : T[K] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function merge<T>(base: T, over: Overrides<T> | undefined): T {
    if (over === undefined) return base;
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
        const b = out[k];
        out[k] = isPlainObject(b) && isPlainObject(v) ? merge(b, v as Overrides<typeof b>) : v;
    }
    return out as T;
}

export function sampleHost(name: string, address: string, role: Host["role"] = "node", domain = "matrix"): Host {
    return {
        name,
        role,
        address,
        fqdn: `${name}.${domain}`,
        ssh: { host: address, port: 22, user: "cloud", privateKey: { path: "~/.ssh/id_ed25519" } },
        groups: role === "node" ? ["web"] : [],
        labels: {},
        drain: false,
    };
}

/** The sample nodes' addresses, as sampleModel has them. */
export const NODE_ADDRESSES: Record<string, string> = { node1: "10.10.10.11", node2: "10.10.10.12", node3: "10.10.10.13" };

/** A replica on a sample node, with that node's address. */
export function replica(node: string, hostPort: number): Application["replicas"][number] {
    return { node, address: NODE_ADDRESSES[node], hostPort, fixedPort: false };
}

/** The schema's health defaults, with the sample's path and status. */
export const SAMPLE_HEALTH: Application["health"] = { path: "/", expectStatus: 200, interval: "1s", timeout: "2s", retries: 3, startPeriod: "10s", deployTimeoutSeconds: 60 };

/** One application routed at /<name>/, listening on 8080, health at its prefix. */
export function sampleApp(name: string, replicas: Application["replicas"], overrides?: Overrides<Application>): Application {
    return merge<Application>(
        {
            name,
            source: { kind: "build", dir: `/work/main/apps/${name}`, dockerfile: "Dockerfile", args: {}, hash: "0123456789abcdef" },
            containerPort: 8080,
            replicas,
            env: [{ name: "JAVA_OPTS", value: "-Xmx48m" }],
            memory: 64,
            restart: "unless-stopped",
            route: { path: `/${name}/`, stripPrefix: false },
            health: { ...SAMPLE_HEALTH, path: `/${name}/` },
            update: { parallelism: 1 },
            security: { noNewPrivileges: true, capDrop: ["NET_RAW"], capAdd: [], readOnlyRootfs: false, pidsLimit: 512 },
            director: "round_robin",
            timeouts: { connect: "500ms", firstByte: "30s", betweenBytes: "10s" },
            placedBy: "config",
        },
        overrides,
    );
}

export function sampleModel(overrides?: Overrides<Model>): Model {
    const domain = "matrix";
    const base: Model = {
        cloudName: "matrix",
        mode: "ssh",
        domain,
        network: {
            cidr: "10.10.10.0/24",
            netmask: "255.255.255.0",
            gateway: "10.10.10.254",
            dhcp: { start: "10.10.10.100", end: "10.10.10.200", leaseTime: "12h" },
            upstreamDns: ["10.0.2.3"],
        },
        manager: sampleHost("manager", "10.10.10.1", "manager", domain),
        nodes: Object.entries(NODE_ADDRESSES).map(([name, address]) => sampleHost(name, address)),
        registry: { port: 5000, address: "manager.matrix:5000", pushAddress: "10.10.10.1:5000", keep: 5 },
        router: {
            port: 80,
            adminPort: 6082,
            probe: { interval: "1s", timeout: "1s", window: 3, threshold: 2 },
            connectTimeout: "500ms",
            firstByteTimeout: "30s",
            betweenBytesTimeout: "10s",
            retries: 2,
            cache: false,
            tls: { enabled: true, port: 443, proxyPort: 8443, redirectHttp: false, hostnames: [] },
        },
        tls: {},
        hostPorts: { start: 20000, end: 29999 },
        monitoring: { enabled: true, port: 9090, bind: "10.10.10.1", intervalSeconds: 5, historySeconds: 1800, cadvisorPort: 4194, housekeepingInterval: "5s" },
        baseImage: "debian:bookworm-slim",
        platform: "linux/amd64",
        applications: [
            sampleApp("simplewebapp1", [
                replica("node1", 20001),
                replica("node2", 20001),
            ]),
            sampleApp("simplewebapp2", [
                replica("node2", 20002),
                replica("node3", 20002),
            ]),
        ],
        tenancy: { cidr: "172.31.0.0/16", jumpPort: 2222, disk: "watchdog", watchdogIntervalSeconds: 10, warnPercent: 90, tenants: [], instances: [], networks: [], pools: [], allocations: [], capacity: [] },
    };
    return merge(base, overrides);
}

/** A fake world for config validation: build contexts under /p/apps/* and the given files exist, these secrets are set. */
export function configEnv(files: Record<string, string> = {}, secrets: string[] = ["registryPassword", "dbPassword", "sshKey"]): ConfigEnv {
    return {
        projectDir: "/p",
        homeDir: "/home/op",
        secretExists: (k) => secrets.includes(k),
        readFile: (f) => files[f],
        isFile: (f) => f in files || /^\/p\/apps\/[^/]+\/Dockerfile$/.test(f) || f === "/home/op/.ssh/id_ed25519",
        hashDir: (d) => `hash-of-${d.split("/").pop()}`,
        platform: "linux/amd64",
        imageId: (ref) => `sha256:id-of-${ref}`,
    };
}

/** A valid stack config (ssh mode, the seed's layout, keys without `matrix:`): a manager, 3 nodes, 2 apps. */
export function baseConfig(): Record<string, any> {
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

/** The problems buildModel reports for a config, as `where: message` lines; [] when it is valid. */
export function configProblems(raw: Record<string, any>, env = configEnv()): string[] {
    try {
        buildModel(raw, env);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.where}: ${p.message}`);
        throw err;
    }
    return [];
}
