// The validated model of one matrix cloud. Everything here is plain data:
// no Pulumi types, so the whole core (validation, placement, rendering) can be
// tested without an engine. Components translate this model into resources.

/** Where a secret value lives: the name of a Pulumi secret config key (`pulumi config set --secret <key>`). */
export interface SecretRef {
    secret: string;
}

export type HostRole = "manager" | "node";

export interface SshConnection {
    /** Address the deploying machine dials (lab: 127.0.0.1; ssh mode: usually the host's address). */
    host: string;
    port: number;
    user: string;
    /** Private key: a file on the deploying machine, or a secret config key. Unset in lab mode (the Lab makes one). */
    privateKey?: { path: string } | SecretRef;
    /** The host key from config ("ssh-ed25519 AAAA…"); unset: the lab's own, or pinned on first contact. */
    hostKey?: string;
    /** ssh mode: the host (by name) this one is dialed through, e.g. the manager of a private network. */
    via?: string;
}

export interface Host {
    name: string;
    role: HostRole;
    /** Address on the private network: what other hosts, DNS records and Varnish backends use. */
    address: string;
    /** `<name>.<domain>` */
    fqdn: string;
    ssh: SshConnection;
    groups: string[];
    labels: Record<string, string>;
    /** Maintenance: no replica is placed here; the ones that were move to other nodes. */
    drain: boolean;
}

export interface Network {
    cidr: string;
    /** Dotted netmask derived from the CIDR, e.g. 255.255.255.0. */
    netmask: string;
    /** Bridge gateway in lab mode (kept off the hosts' addresses). */
    gateway: string;
    dhcp?: { start: string; end: string; leaseTime: string };
    /** Upstream DNS servers for names outside the domain; empty: the manager's own resolver. */
    upstreamDns: string[];
}

export interface Registry {
    port: number;
    /** `<manager fqdn>:<port>`: how nodes pull. */
    address: string;
    /** How the deploying machine pushes (lab: 127.0.0.1:<published port>). */
    pushAddress: string;
    auth?: { username: string; password: SecretRef };
    /** Images kept per app, newest first, in the registry and on each node: what a rollback can return to. */
    keep: number;
}

export interface Probe {
    interval: string;
    timeout: string;
    window: number;
    threshold: number;
}

export interface Timeouts {
    connect: string;
    firstByte: string;
    betweenBytes: string;
}

export type DirectorKind = "round_robin" | "random" | "fallback" | "hash";

/** A PEM text: a file on the deploying machine (absolute path) or a secret config key. */
export type PemSource = { path: string } | SecretRef;

export interface RouterTls {
    /** hitch terminates TLS on `port` (bound like the router) and forwards to Varnish with PROXY v2. */
    enabled: boolean;
    port: number;
    /** Varnish's PROXY listener, on the manager's 127.0.0.1 only. */
    proxyPort: number;
    /** Plain-HTTP requests are answered with a redirect to https://. */
    redirectHttp: boolean;
    /** Extra names (or IPv4 addresses) of the router's certificate. */
    hostnames: string[];
    /** The operator's certificate (and chain) and key; unset: issued by the cloud's CA. */
    certificate?: PemSource;
    key?: SecretRef;
}

export interface Tls {
    /** The operator's CA; unset: the cloud generates one once (its key a secret in the stack's state). */
    ca?: { certificate: PemSource; key: SecretRef };
}

export interface Router {
    port: number;
    /** The address varnishd listens on; unset: every address. */
    bind?: string;
    /** varnishd management port, bound to the manager's 127.0.0.1 only. */
    adminPort: number;
    probe: Probe;
    connectTimeout: string;
    firstByteTimeout: string;
    betweenBytesTimeout: string;
    /** How many times an idempotent request is retried on another backend. */
    retries: number;
    /** false: every request passes to a backend (a router, not a cache). */
    cache: boolean;
    tls: RouterTls;
}

export interface Lab {
    /** SSH of host i is published on 127.0.0.1:(sshPortBase + i); manager is i = 0. */
    sshPortBase: number;
    /** The tenants' jump host is published on this 127.0.0.1 port. */
    jumpPort: number;
    /** Router and registry are published on these 127.0.0.1 ports. */
    routerPort: number;
    registryPort: number;
    /** The router's TLS port is published on this 127.0.0.1 port. */
    routerTlsPort: number;
    /** The monitor (monitoring.port on the manager) is published on this 127.0.0.1 port. */
    monitorPort: number;
}

/** cAdvisor on every host; the manager's collector and status page. */
export interface Monitoring {
    /** false: no cAdvisor, no monitor, no status page (the other fields are the defaults, unused). */
    enabled: boolean;
    port: number;
    /** Where the monitor listens: config monitoring.bind, else the manager's private address. */
    bind: string;
    intervalSeconds: number;
    historySeconds: number;
    cadvisorPort: number;
    housekeepingInterval: string;
    /** Unset: the image built from images/cadvisor. */
    cadvisorImage?: string;
}

export type EnvValue = { name: string; value: string } | { name: string; secret: string };

export type AppSource =
    /** dir: absolute build context; hash: content hash of it (and of the Dockerfile name and build args), used as the image tag. */
    | { kind: "build"; dir: string; dockerfile: string; args: Record<string, string>; hash: string }
    /** An earlier build of the app, still in the registry under its tag: a rollback (config `version`). */
    | { kind: "pinned"; tag: string }
    | { kind: "image"; ref: string };

export interface Replica {
    node: string;
    /** The node's private address: where the replica's port is published and Varnish reaches it. */
    address: string;
    /**
     * Port published on the node's private address. Fixed (config hostPort or plan file): the
     * replica always uses it. Otherwise the preferred port: a new version of the replica starts
     * on a free port picked at deploy time, beside the old one.
     */
    hostPort: number;
    fixedPort: boolean;
}

export interface Route {
    /** Path prefix, always starting and ending with '/'. */
    path: string;
    /** Optional virtual host (no port). */
    hostname?: string;
    /** Remove the prefix before the request reaches the app. */
    stripPrefix: boolean;
}

export interface Health {
    /** HTTP GET of path (by the router's probes and, unless command is set, the container's check). */
    path: string;
    expectStatus: number;
    /** The container health check's command (exec form), when not the default HTTP GET. */
    command?: string[];
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
    /** How long `pulumi up` waits for a new replica to become healthy. */
    deployTimeoutSeconds: number;
}

export interface Application {
    name: string;
    source: AppSource;
    containerPort: number;
    replicas: Replica[];
    env: EnvValue[];
    cpus?: number;
    cpuset?: string;
    /** MiB */
    memory?: number;
    /** MiB */
    memoryReservation?: number;
    restart: "no" | "always" | "unless-stopped" | "on-failure";
    route: Route;
    health: Health;
    update: { parallelism: number };
    security: { noNewPrivileges: boolean; capDrop: string[]; capAdd: string[]; readOnlyRootfs: boolean; user?: string; pidsLimit: number };
    director: DirectorKind;
    /** The router's timeouts towards the replicas (the app's own, else the router's). */
    timeouts: Timeouts;
    /** Where the placement came from: config or a plan-file line. */
    placedBy: "config" | "plan";
}

export interface Tenant {
    name: string;
    /** SSH public keys (authorized_keys lines): the jump host and the tenant's instances accept these only. */
    keys: string[];
}

/** A tenant's bridge network on one node: its instances there, on a /24 of matrix:tenancy.cidr. */
export interface TenantNetwork {
    tenant: string;
    node: string;
    /** Docker network name (the same on every node; networks are per engine). */
    name: string;
    /** Linux bridge name (≤ 15 characters), which the firewall rules name. */
    bridge: string;
    subnet: string;
    gateway: string;
}

export interface Instance {
    tenant: string;
    name: string;
    node: string;
    /** On the tenant's network of its node; the manager routes the subnet to the node. */
    address: string;
    /** `<name>.<tenant>.<domain>` */
    fqdn: string;
    /** Unset: matrix's instance image (images/instance), built and shipped by the deploy. */
    image?: string;
    /** Pinned cores (from cpus or the configured cpuset), e.g. "2-3". */
    cpuset?: string;
    /** MiB */
    memory?: number;
    memoryReservation?: number;
    /** Writable-layer limit in MiB. */
    disk?: number;
    /** tc rates: `in` towards the instance, `out` from it. */
    bandwidth: { in?: string; out?: string };
    user: string;
    rootLogin: boolean;
    /** The allocation it was placed in, if any. */
    allocation?: string;
}

export interface Pool {
    name: string;
    nodes: string[];
}

export interface Allocation {
    name: string;
    pool: string;
    tenant?: string;
    purpose?: string;
    exclusive: boolean;
    nodes: string[];
}

/** What a node has and what is promised (pinned cores, memory limits of instances and apps). */
export interface NodeCapacity {
    node: string;
    cores?: number;
    /** Cores pinned by instances and apps' cpusets. */
    pinnedCores: number[];
    /** MiB */
    memory?: number;
    memoryPromised: number;
}

export interface Tenancy {
    cidr: string;
    jumpPort: number;
    disk: "watchdog" | "quota";
    watchdogIntervalSeconds: number;
    warnPercent: number;
    tenants: Tenant[];
    instances: Instance[];
    networks: TenantNetwork[];
    pools: Pool[];
    allocations: Allocation[];
    capacity: NodeCapacity[];
}

export interface Model {
    cloudName: string;
    mode: "lab" | "ssh";
    domain: string;
    network: Network;
    manager: Host;
    nodes: Host[];
    registry: Registry;
    router: Router;
    tls: Tls;
    lab?: Lab;
    monitoring: Monitoring;
    /** Range of automatically picked host ports on the nodes. */
    hostPorts: { start: number; end: number };
    /** FROM of the images matrix builds itself (services, lab hosts); pulled, or bootstrapped offline. */
    baseImage: string;
    /** The Docker platform images are built for ("linux/amd64"). */
    platform: string;
    applications: Application[];
    tenancy: Tenancy;
}

export function allHosts(model: Model): Host[] {
    return [model.manager, ...model.nodes];
}

/** The model with the host ports the replicas really got (by app, in replica order). */
export function withHostPorts(model: Model, ports: number[][]): Model {
    return { ...model, applications: model.applications.map((a, i) => ({ ...a, replicas: a.replicas.map((r, j) => ({ ...r, hostPort: ports[i][j] })) })) };
}
