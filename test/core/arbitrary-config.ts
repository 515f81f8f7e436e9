// Random stack configs for property tests: varied hosts, apps, placement, routes, probes,
// timeouts, directors and cache, built to pass validation (tests skip the rare one that does not).
import fc from "fast-check";

type Config = Record<string, any>;

/** Durations Varnish and Docker both take, short to long. */
const duration = fc.constantFrom("1ms", "250ms", "500ms", "1s", "1.5s", "2s", "10s", "1m", "2m", "1h");
const ms = (d: string) => {
    const m = /^([\d.]+)(ms|s|m|h)$/.exec(d)!;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
};

const node = (i: number) =>
    fc.record({
        name: fc.constant(`n${i + 1}`),
        address: fc.constant(`10.20.1.${i + 1}`),
        groups: fc.subarray(["web", "batch"]),
        labels: fc.option(fc.record({ zone: fc.constantFrom("a", "b") }), { nil: undefined }),
        cpus: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    });

const probe = fc.integer({ min: 1, max: 10 }).chain((window) =>
    fc.record({ interval: duration, timeout: duration, window: fc.constant(window), threshold: fc.integer({ min: 1, max: window }) }),
);

const router = fc.record({
    port: fc.constantFrom(80, 6081, 8081),
    adminPort: fc.constantFrom(6082, 6083),
    probe,
    connectTimeout: duration,
    firstByteTimeout: duration,
    betweenBytesTimeout: duration,
    retries: fc.integer({ min: 0, max: 10 }),
    cache: fc.boolean(),
});

/** Health times the deploy can meet: its timeout is longer than the first interval and the start period. */
const health = fc.record({ interval: duration, timeout: duration, startPeriod: duration, retries: fc.integer({ min: 1, max: 5 }), extra: duration }).map(({ extra, ...h }) => {
    const longest = Math.max(ms(h.interval), ms(h.startPeriod));
    return { ...h, deployTimeout: `${longest + ms(extra)}ms` };
});

/** Application i of a cloud with these nodes (placement always satisfiable). */
function app(i: number, nodes: Config[]) {
    const names = nodes.map((n) => n.name as string);
    const withGroup = (g: string) => nodes.filter((n) => n.groups.includes(g)).length;
    const placement: fc.Arbitrary<Config> = fc.oneof<fc.Arbitrary<Config>[]>(
        fc.integer({ min: 1, max: nodes.length }).map((replicas) => ({ replicas })),
        fc.constantFrom("web", "batch").chain((group) =>
            withGroup(group) ? fc.integer({ min: 1, max: withGroup(group) }).map((replicas): Config => ({ replicas, selector: { group } })) : fc.constant<Config>({ replicas: 1 }),
        ),
        fc.subarray(names, { minLength: 1 }).map((list) => ({ nodes: list })),
    );
    // cpus within every node's declared cores (the smallest is at least 1).
    const cpus = fc.option(fc.constantFrom(0.25, 0.5, 1), { nil: undefined });
    return fc
        .record({
            source: fc.constantFrom<Config>({ image: "nginx:1.27" }, { image: "registry.example:5000/team/app:2.1" }, { build: "apps/simplewebapp1" }, { build: { context: "apps/simplewebapp2", args: { V: "2" } } }),
            placement,
            hostPort: fc.option(fc.constant(9000 + i), { nil: undefined }),
            route: fc.record({
                path: fc.constantFrom(undefined, `/p${i}/`, `/a/b${i}/`, i === 0 ? "/" : `/x${i}/`),
                hostname: fc.constantFrom(undefined, true, `app${i}.example`, "shared.example"),
                stripPrefix: fc.boolean(),
            }),
            health,
            director: fc.constantFrom("round_robin", "random", "fallback", "hash"),
            cpus,
            cpuset: fc.constantFrom(undefined, "0"),
            memory: fc.constantFrom(undefined, "64m", 128, "1g"),
            restart: fc.constantFrom("unless-stopped", "always", "on-failure", "no"),
            parallelism: fc.integer({ min: 1, max: 3 }),
        })
        .map((a) => ({
            name: `app${i}`,
            ...a.source,
            port: 8080,
            ...a.placement,
            hostPort: a.hostPort,
            route: a.route,
            health: a.health,
            director: a.director,
            cpus: a.cpuset && a.cpus && a.cpus > 1 ? 1 : a.cpus,
            cpuset: a.cpuset,
            memory: a.memory,
            restart: a.restart,
            update: { parallelism: a.parallelism },
        }));
}

/** A whole config (keys without `matrix:`); ssh mode dials with the secret key `sshKey`. */
export const validConfig: fc.Arbitrary<Config> = fc
    .record({
        mode: fc.constantFrom("lab", "ssh"),
        cloudName: fc.constantFrom("matrix", "c1", "prod-cloud"),
        domain: fc.constantFrom("matrix", "cloud.example", "c-1.internal"),
        nodeCount: fc.integer({ min: 1, max: 5 }),
        appCount: fc.integer({ min: 0, max: 5 }),
        dhcp: fc.boolean(),
        upstreamDns: fc.subarray(["1.1.1.1", "9.9.9.9"]),
        router,
        registry: fc.record({ port: fc.constantFrom(5000, 5001), keep: fc.integer({ min: 1, max: 10 }) }),
    })
    .chain((c) =>
        fc
            .tuple(fc.tuple(...Array.from({ length: c.nodeCount }, (_, i) => node(i))), fc.constant(c))
            .chain(([nodes, c]) => fc.tuple(fc.constant(nodes), fc.constant(c), fc.tuple(...Array.from({ length: c.appCount }, (_, i) => app(i, nodes))))),
    )
    .map(([nodes, c, apps]) => {
        // A cpuset of CPU 0 and cpus up to 1 fit every node.
        const config: Config = {
            mode: c.mode,
            cloudName: c.cloudName,
            domain: c.domain,
            network: { cidr: "10.20.0.0/16", upstreamDns: c.upstreamDns, ...(c.mode === "ssh" && c.dhcp ? { dhcp: { start: "10.20.200.1", end: "10.20.200.100" } } : {}) },
            manager: { name: "mgr", address: "10.20.0.1" },
            nodes: nodes.map((n) => JSON.parse(JSON.stringify(n))),
            router: c.router,
            registry: c.registry,
            hostPorts: { start: 20000, end: 20999 },
            applications: JSON.parse(JSON.stringify(apps)),
        };
        if (c.mode === "ssh") config.ssh = { privateKey: { secret: "sshKey" } };
        return config;
    });
