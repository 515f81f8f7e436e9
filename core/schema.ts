// Shape of the stack configuration (project namespace `matrix`), one zod schema per key.
// Shape only: cross-key rules (addresses inside the network, known nodes, ports) live in config.ts.
import { z } from "zod";
import { capabilityProblem, publicKeyProblem, dnsNameProblem, durationProblem, imageProblem, leaseTimeProblem, nameProblem, pushAddressProblem, routeHostProblem, sshHostProblem } from "./formats";
import { named } from "./shape";

export { DURATION_PATTERN } from "./formats";

/** A string checked by one of our own functions (formats.ts): one message for each way it can be wrong. */
const checked = (problem: (v: string) => string | undefined) =>
    z.string().superRefine((v, ctx) => {
        const message = problem(v);
        if (message !== undefined) ctx.addIssue({ code: "custom", message });
    });
const name = named(checked(nameProblem), 'a name like "node1"', "names");
const ipv4 = named(z.ipv4({ error: 'must be an IPv4 address like "10.10.10.11"' }), 'an IPv4 address like "10.10.10.11"', "IPv4 addresses");
const port = named(z.int({ error: "must be an integer port 1-65535" }).min(1, { error: "must be ≥ 1" }).max(65535, { error: "must be ≤ 65535" }), "a port 1-65535", "ports");
const duration = named(checked(durationProblem), 'a duration like "500ms", "2s" or "1m"', "durations");
const secretRef = named(
    z.strictObject({ secret: z.string().regex(/^[A-Za-z][\w.-]*$/, { error: "must name a secret config key, e.g. registryPassword" }) }),
    '{secret: "<config key>"}',
    "secret references",
);
/** A PEM file: on the deploying machine, or in a secret config key. */
const pemSource = named(
    z.union([z.strictObject({ path: z.string().min(1) }), secretRef], { error: 'must be {path: "ca.crt"} or {secret: "<config key>"}' }),
    '{path: "ca.crt"} or {secret: "<config key>"}',
    "PEM sources",
);
const labels = named(z.record(z.string().regex(/^[A-Za-z0-9_.\/-]+$/, { error: "label keys use letters, digits and _ . / -" }), z.string()), 'an object of labels, e.g. {zone: "a"}', "label objects");
/** A Linux capability as Docker names it (CAP_ optional). */
const capability = named(checked(capabilityProblem), 'a capability name like "NET_RAW"', 'capability names like "NET_RAW"');
/** Docker-style size: 256 (MiB), "256m", "1g". */
const SIZE = 'must be a size in MiB (256) or with a unit ("256m", "1g")';
const size = z.union([z.int(), z.string().regex(/^\d+[mMgG]?$/, { error: SIZE })], { error: SIZE });
const image = named(checked(imageProblem), 'an image reference like "nginx:1.27"', "image references");

export const sshSchema = z.strictObject({
    host: checked(sshHostProblem).optional(),
    port: port.optional(),
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, { error: "must be a Unix user name" }).optional(),
    /** The host's SSH public host key ("ssh-ed25519 AAAA…", as in known_hosts); unset: recorded on first contact and pinned. */
    hostKey: z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/, { error: 'must be a public host key as ssh-keyscan prints it, without the host: "ssh-ed25519 AAAA..."' }).optional(),
    privateKey: z.union([z.strictObject({ path: z.string().min(1) }), secretRef], { error: 'must be {path: "~/.ssh/id_ed25519"} or {secret: "<config key>"}' }).optional(),
    /** ssh mode: dial this host through another host (e.g. "manager"), the jump host of a private network. */
    via: name.optional(),
});

export const hostSchema = z.strictObject({
    name,
    address: ipv4,
    ssh: sshSchema.optional(),
    groups: z.array(name).default([]),
    labels: labels.default({}),
    /** Maintenance: placement moves this node's replicas to other nodes (nodes only). */
    drain: z.boolean().default(false),
    /** CPU cores of the host, when declared: apps' cpus and cpuset are checked against them. */
    cpus: z.int().min(1, { error: "must be ≥ 1 (the host's CPU cores)" }).optional(),
    /** Memory of the host, when declared: instances' and apps' memory limits are checked against it. */
    memory: size.optional(),
});

/** A build context in full; a plain string in the config is its `context`. */
export const buildSchema = z.strictObject({
    context: z.string().min(1),
    dockerfile: z.string().min(1).default("Dockerfile"),
    args: named(z.record(z.string(), z.string()), 'an object of build arguments, e.g. {VERSION: "2"}', "build argument objects").default({}),
});

// Every default lives here; code that needs one parses undefined. Pulumi.yaml repeats the scalars'
// (a test keeps them equal) and gives the structured keys an empty {} or [], which means these.
/** A tenant's SSH public key, as in authorized_keys (an optional comment after the key). */
const publicKey = named(checked(publicKeyProblem), 'an SSH public key like "ssh-ed25519 AAAA... alice@laptop"', "SSH public keys");
/** tc's rates: "10mbit", "512kbit", "1gbit". */
const rate = named(z.string().regex(/^\d+(\.\d+)?(kbit|mbit|gbit)$/, { error: 'must be a rate like "512kbit", "10mbit" or "1gbit"' }), 'a rate like "10mbit"', "rates");
const selector = z.strictObject({ group: name.optional(), labels: labels.optional() });
const cpuList = z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'must be a CPU list like "0-1" or "0,2"' });

export const schemas = {
    cloudName: name.default("matrix"),
    mode: z.enum(["lab", "ssh"], { error: 'must be "lab" (hosts are local containers) or "ssh" (existing machines)' }).default("lab"),
    domain: checked((v) => dnsNameProblem(v, 'a DNS domain like "matrix" or "cloud.example"')).default("matrix"),
    network: z.strictObject({
        cidr: z.cidrv4({ error: 'must be an IPv4 CIDR like "10.10.10.0/24"' }),
        gateway: ipv4.optional(),
        dhcp: z.strictObject({ start: ipv4, end: ipv4, leaseTime: checked(leaseTimeProblem).default("12h") }).optional(),
        upstreamDns: z.array(ipv4).default([]),
    }),
    manager: hostSchema,
    nodes: z.array(hostSchema).min(1, { error: "needs at least one node" }),
    ssh: sshSchema.prefault({}),
    registry: z
        .strictObject({
            port: port.default(5000),
            pushAddress: checked(pushAddressProblem).optional(),
            auth: z.strictObject({ username: z.string().regex(/^[\w.-]+$/, { error: "must be a plain user name" }), password: secretRef }).optional(),
            /** Images kept per app (registry and nodes), newest first: what a rollback can return to. */
            keep: z.int().min(1, { error: "must be ≥ 1 (the image in use)" }).max(100).default(5),
        })
        .prefault({}),
    router: z
        .strictObject({
            port: port.default(80),
            /** The address the router listens on (the manager's public one); unset: every address, as the cloud's front door. */
            bind: ipv4.optional(),
            adminPort: port.default(6082),
            probe: z
                .strictObject({
                    interval: duration.default("1s"),
                    timeout: duration.default("1s"),
                    window: z.int().min(1).max(64).default(3),
                    threshold: z.int().min(1).max(64).default(2),
                })
                .prefault({}),
            connectTimeout: duration.default("500ms"),
            firstByteTimeout: duration.default("30s"),
            betweenBytesTimeout: duration.default("10s"),
            retries: z.int().min(0).max(10).default(2),
            cache: z.boolean().default(false),
            /** HTTPS in front of Varnish (hitch), with a certificate from the cloud's CA or the operator's. */
            tls: z
                .strictObject({
                    enabled: z.boolean().default(true),
                    port: port.default(443),
                    /** Varnish's PROXY-protocol listener on the manager's 127.0.0.1, where hitch forwards. */
                    proxyPort: port.default(8443),
                    redirectHttp: z.boolean().default(false),
                    /** Further names (or IPv4 addresses) the router's certificate is valid for. */
                    hostnames: z.array(z.string().regex(/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, { error: 'must be a host name like "www.example.com" or an IPv4 address' })).default([]),
                    certificate: pemSource.optional(),
                    key: secretRef.optional(),
                })
                .prefault({}),
        })
        .prefault({}),
    /** The cloud's certificate authority: the operator's, or generated once (unset). */
    tls: z.strictObject({ ca: z.strictObject({ certificate: pemSource, key: secretRef }).optional() }).prefault({}),
    hostPorts: z
        .strictObject({ start: port.default(20000), end: port.default(29999) })
        .prefault({}),
    lab: z
        .strictObject({
            sshPortBase: port.default(2221),
            routerPort: port.default(8080),
            registryPort: port.default(5000),
            routerTlsPort: port.default(8443),
            /** The tenants' jump host (matrix:tenancy.jumpPort on the manager) is published on this 127.0.0.1 port. */
            jumpPort: port.default(2200),
            /** The monitor's status page and API (monitoring.port on the manager) are published on this 127.0.0.1 port. */
            monitorPort: port.default(9090),
        })
        .prefault({}),
    /** cAdvisor on every host and the manager's collector and status page (monitor/). */
    monitoring: z
        .strictObject({
            /** false: no cAdvisor, no monitor, no status page. */
            enabled: z.boolean().default(true),
            /** The monitor's port on the manager (its API and status page). */
            port: port.default(9090),
            /** The address the monitor listens on; unset: the manager's private address (the status page is for operators, not the cloud's front door). */
            bind: ipv4.optional(),
            /** How often the monitor polls every cAdvisor and the router. */
            interval: duration.default("5s"),
            /** How much history the monitor keeps in memory (its charts). */
            history: duration.default("30m"),
            /** cAdvisor's port on every node, bound to its private address only; 4194 was cAdvisor's own (the seed's apps use 8081). */
            cadvisorPort: port.default(4194),
            /** How often cAdvisor samples each container (its --housekeeping_interval). */
            housekeepingInterval: duration.default("5s"),
            /** An image to run instead of the one built here (online: "gcr.io/cadvisor/cadvisor:v0.49.1"). */
            cadvisorImage: image.optional(),
        })
        .prefault({}),
    baseImage: image.default("debian:bookworm-slim"),
    /** Tenants: people or teams who log into their instances through the manager (the jump host). */
    tenants: z.array(z.strictObject({ name, keys: z.array(publicKey).min(1, { error: "must list at least one SSH public key (key-only logins)" }) })).default([]),
    /** Long-lived containers with sshd, owned by a tenant. */
    instances: z
        .array(
            z.strictObject({
                tenant: name,
                name,
                /** Placement: one of node, allocation, pool or selector (as apps). */
                node: name.optional(),
                allocation: name.optional(),
                pool: name.optional(),
                selector: selector.optional(),
                /** Unset: matrix's instance image (images/instance). */
                image: image.optional(),
                /** Whole cores, pinned by the node's CPU allocator; or an explicit cpuset. */
                cpus: z.int().min(1, { error: "must be a whole number of cores ≥ 1 (instances are pinned)" }).optional(),
                cpuset: cpuList.optional(),
                /** Let this cpuset overlap other pinned containers (asked for, never by accident). */
                shareCores: z.boolean().default(false),
                memory: size.optional(),
                memoryReservation: size.optional(),
                disk: size.optional(),
                bandwidth: z.strictObject({ in: rate.optional(), out: rate.optional() }).prefault({}),
                user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'must be a Unix user name like "dev"' }).default("dev"),
                rootLogin: z.boolean().default(false),
            }),
        )
        .default([]),
    /** Named sets of nodes, by group and labels (or listed). */
    pools: z.array(z.strictObject({ name, selector: selector.optional(), nodes: z.array(name).min(1, { error: "must list at least one node (or use selector)" }).optional() })).default([]),
    /** N machines of a pool, for a tenant or a purpose; exclusive (default) or shared. */
    allocations: z
        .array(
            z.strictObject({
                name,
                pool: name,
                count: z.int().min(1, { error: "must be ≥ 1" }),
                tenant: name.optional(),
                purpose: z.string().min(1).max(200).optional(),
                exclusive: z.boolean().default(true),
            }),
        )
        .default([]),
    /** How instances are networked and limited. */
    tenancy: z
        .strictObject({
            /** Instance addresses: one /24 per tenant and node, routed by the manager to that node. */
            cidr: z.cidrv4({ error: 'must be an IPv4 CIDR like "172.31.0.0/16"' }).default("172.31.0.0/16"),
            /** The jump host's sshd on the manager. */
            jumpPort: port.default(2222),
            /** "quota": Docker's storage-opt size (overlay2 on xfs with pquota); "watchdog": measured and stopped. */
            disk: z.enum(["watchdog", "quota"], { error: 'must be "watchdog" or "quota" (overlay2 on xfs with pquota only)' }).default("watchdog"),
            watchdogInterval: duration.default("10s"),
            /** A warning is logged above this share of an instance's disk limit. */
            warnPercent: z.int().min(1).max(100).default(90),
        })
        .prefault({}),
    /** The platform matrix builds images for, e.g. "linux/arm64"; empty: the deploying machine's. */
    platform: z
        .string()
        .regex(/^(linux\/[a-z0-9]+(\/v[0-9]+)?)?$/, { error: 'must be a Docker platform like "linux/amd64" or "linux/arm64" (empty: the deploying machine\'s)' })
        .optional(),
    /** Empty: no plan file (Pulumi.yaml must give an optional key a default). */
    planFile: z.string().optional(),
    applications: z
        .array(
            z.strictObject({
                name,
                build: z.union([z.string().min(1), buildSchema], { error: 'must be a directory with a Dockerfile ("apps/shop") or {context, dockerfile, args}' }).optional(),
                image: image.optional(),
                /** Pin a built app to an earlier build (its tag in the registry): a rollback. */
                version: z.string().regex(/^[0-9a-f]{16}$/, { error: 'must be a build tag as listed in the stack output applications.<app>.version, e.g. "3f2a9c1d0b7e5a64"' }).optional(),
                port: port.optional(),
                nodes: z.array(name).min(1, { error: 'must list at least one node (or use "replicas")' }).optional(),
                replicas: z.int().min(1, { error: "must be ≥ 1" }).optional(),
                selector: z.strictObject({ group: name.optional(), labels: labels.optional() }).optional(),
                hostPort: port.optional(),
                env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "env names are letters, digits and _" }), z.union([z.string(), secretRef])).default({}),
                cpus: z.number().min(0.01, { error: "must be ≥ 0.01 (Docker's smallest CPU share)" }).optional(),
                cpuset: z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'must be a CPU list like "0-1" or "0,2"' }).optional(),
                memory: size.optional(),
                memoryReservation: size.optional(),
                restart: z.enum(["no", "always", "unless-stopped", "on-failure"]).default("unless-stopped"),
                route: z
                    .strictObject({
                        path: z.string().regex(/^\/([\w.~-]+\/)*$/, { error: 'must start and end with "/", e.g. "/shop/"' }).optional(),
                        hostname: z
                            .union([z.literal(true), checked(routeHostProblem)], { error: 'must be true (for <app>.<domain>) or a host name like "shop.example"' })
                            .optional(),
                        stripPrefix: z.boolean().default(false),
                    })
                    .prefault({}),
                health: z
                    .strictObject({
                        path: z.string().regex(/^\/[\w.~\/?=&%-]*$/, { error: 'must be a URL path starting with "/"' }).optional(),
                        expectStatus: z.int().min(100).max(599).default(200),
                        /** Exec form, run in the container; default: an HTTP GET of path with curl or wget. */
                        command: z.array(z.string().min(1)).min(1).optional(),
                        interval: duration.default("1s"),
                        timeout: duration.default("2s"),
                        retries: z.int().min(1).max(100).default(3),
                        startPeriod: duration.default("10s"),
                        /** How long `pulumi up` waits for a new replica to become healthy. */
                        deployTimeout: duration.default("60s"),
                    })
                    .prefault({}),
                update: z
                    .strictObject({
                        /** New replicas started at a time during a rolling update. */
                        parallelism: z.int().min(1, { error: "must be ≥ 1" }).default(1),
                    })
                    .prefault({}),
                director: z.enum(["round_robin", "random", "fallback", "hash"]).default("round_robin"),
                /** The router's timeouts towards this app's replicas; unset: matrix:router's. */
                timeouts: z.strictObject({ connect: duration.optional(), firstByte: duration.optional(), betweenBytes: duration.optional() }).prefault({}),
                /** Least privilege by default; each part can be relaxed (or tightened) per app. */
                security: z
                    .strictObject({
                        noNewPrivileges: z.boolean().default(true),
                        capDrop: z.array(capability).default(["NET_RAW"]),
                        capAdd: z.array(capability).default([]),
                        readOnlyRootfs: z.boolean().default(false),
                        /** Processes (and threads) the container may run: a fork bomb stays inside it. */
                        pidsLimit: z.int().min(16, { error: "must be ≥ 16 (an app needs a few processes)" }).default(512),
                        user: z.string().regex(/^[\w.-]+(:[\w.-]+)?$/, { error: 'must be a user (and group) name or id, e.g. "www-data" or "1000:1000"' }).optional(),
                    })
                    .prefault({}),
            }),
        )
        .default([]),
};

/**
 * Every key set in the namespace, by name without `matrix:`: the settings with their values, and
 * any other key (value unread: it may be a secret), reported unless a {secret: ...} refers to it.
 */
export type RawConfig = { [K in keyof typeof schemas]?: unknown } & Record<string, unknown>;
export type ParsedConfig = { [K in keyof typeof schemas]: z.output<(typeof schemas)[K]> };
export type AppConfig = ParsedConfig["applications"][number];
export type HostConfig = z.output<typeof hostSchema>;
export type InstanceConfig = ParsedConfig["instances"][number];
export const CONFIG_KEYS = Object.keys(schemas) as (keyof typeof schemas)[];
