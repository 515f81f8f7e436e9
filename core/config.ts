// Stack config -> validated Model. Every problem is collected and reported at once, each
// naming its key path (or plan-file line) and the fix, before any resource is registered.
import * as path from "path";
import { cidrRange, toInt, toIp } from "./ipv4";
import { z } from "zod";
import { baseImages } from "./build";
import { cpusetCpus, durationMs } from "./formats";
import { contentHash } from "./hash";
import { Application, EnvValue, Host, Model, Replica, SecretRef, SshConnection, Tenancy } from "./model";
import { checkTenancy } from "./tenancy-config";
import { goDuration } from "./replica";
import { eligibleNodes, PortRequest, assignPorts, placeApps, Selector } from "./placement";
import { parsePlan, PlanLine } from "./planfile";
import { keyPath, Problems } from "./problems";
import { AppConfig, buildSchema, CONFIG_KEYS, HostConfig, ParsedConfig, RawConfig, schemas } from "./schema";
import { didYouMean, shapeProblems, shapeWords } from "./shape";

export const NAMESPACE = "matrix";

/**
 * What validation needs from the outside world, passed in: the core itself makes no process,
 * file-system or network call. The program's (env.ts) answers each question once, however often
 * it is asked (a base image is looked up once, not once per app built on it); tests pass fakes.
 */
export interface ConfigEnv {
    /** Directory that relative paths (build contexts, plan file) are resolved against. */
    projectDir: string;
    /** The operator's home directory: `~/` in configured paths. */
    homeDir: string;
    /** Whether a secret config key (`pulumi config set --secret <key>`) is set. */
    secretExists(key: string): boolean;
    readFile(file: string): string | undefined;
    isFile(file: string): boolean;
    hashDir(dir: string): string;
    /** The deploying machine's Docker platform ("linux/amd64"): what images are built for unless config `platform` says. */
    platform: string;
    /** The local Docker engine's id of an image, when it has it: a base image that changes changes the build. */
    imageId(ref: string): string | undefined;
}

const REQUIRED_HINT: Partial<Record<string, string>> = {
    network: 'is required, e.g. {cidr: "10.10.10.0/24"}',
    manager: 'is required, e.g. {name: manager, address: 10.10.10.1}',
    nodes: "is required: a list of {name, address}",
};

/** Docker's smallest memory limit and reservation. */
const MIN_MEMORY_MIB = 6;
/** Go's longest time.Duration, which Docker's health check times are. */
const MAX_GO_DURATION_MS = 2 ** 63 / 1e6 - 1;


function expandHome(env: ConfigEnv, p: string): string {
    return p.startsWith("~/") ? path.join(env.homeDir, p.slice(2)) : p;
}

function parseSize(v: number | string | undefined): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    const m = /^(\d+)([mMgG]?)$/.exec(v)!;
    return Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1);
}

/** A value a person set: not absent, and not the empty {} Pulumi.yaml declares as "matrix's defaults". */
function isSet(v: unknown): boolean {
    return v !== undefined && !(typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

/** What every check reads, and where it reports. */
interface Check {
    raw: RawConfig;
    /** The keys that passed their shape check: a key that failed is absent, so its problem is not reported twice. */
    cfg: Partial<ParsedConfig>;
    env: ConfigEnv;
    problems: Problems;
}

interface NetworkFacts {
    range?: ReturnType<typeof cidrRange>;
    gateway: string;
    /** A host address inside the network (not its network or broadcast address). */
    inNet(ip: string): boolean;
}

/** The nodes apps are placed on. `known` is false when matrix:nodes is itself invalid (reported there). */
interface Nodes {
    list: Host[];
    known: boolean;
    /** Declared CPU cores and config path, by node name. */
    cores: Map<string, { cores: number; where: string }>;
    /** The port sshd listens on, by node name (apps must not take it). */
    sshd: Map<string, number>;
    /** The manager's name, which is no node. */
    manager?: string;
}

interface Plan {
    lines: PlanLine[];
    /** The plan file as configured, for messages. */
    name: string;
}

/** An application's config entry and its key path; an empty path: implied by the plan file. */
type AppEntry = [AppConfig, PropertyKey[]];

const at = (...p: PropertyKey[]) => keyPath(NAMESPACE, p);
const unknownNode = (nodes: Nodes, n: string) =>
    n === nodes.manager
        ? `"${n}" is the manager, which runs no apps; name a node of matrix:nodes (${nodes.list.map((h) => h.name).join(", ") || "none"})`
        : `node "${n}" is not defined in matrix:nodes (known: ${nodes.list.map((h) => h.name).join(", ") || "none"})`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** `node "node1"`, or `nodes node1, node2`. */
const nodeList = (names: string[]) => (names.length === 1 ? `node "${names[0]}"` : `nodes ${names.join(", ")}`);

export function buildModel(raw: RawConfig, env: ConfigEnv): Model {
    const problems = new Problems();
    const meant = checkKeys(raw, problems);
    const cfg = checkShape(raw, problems, meant);
    const c: Check = { raw, cfg, env, problems };
    // A domain that failed its shape check is reported; the default stands in to find other problems.
    const domain = cfg.domain ?? schemas.domain.parse(undefined);
    const net = checkNetwork(c);
    const hosts = checkHosts(c, net, domain);
    checkUpstreamDns(c, hosts);
    checkDomainLength(c, hosts);
    checkModeKeys(c);
    checkLabPorts(c, hosts.length);
    const nodes = nodeFacts(c, hosts);
    checkManagerPorts(c, hosts);
    checkRouter(c);
    checkRegistry(c);
    checkSshDefaults(c);
    checkTls(c, hosts);
    checkHostPortRange(c, nodes);
    const plan = readPlan(c, nodes);
    const { entries, origin } = collectApplications(c, plan);
    const { apps, portRequests } = checkApplications(c, entries, origin, plan, nodes, hosts, domain);
    const replicas = assignHostPorts(c, portRequests);
    const tenancy = checkTenancyKeys(c, nodes, hosts, apps, replicas, domain);
    checkMonitoring(c, hosts, nodes, replicas);
    problems.throwIfAny();
    return assemble(cfg, { env, domain, net, hosts, nodes: nodes.list, apps, replicas, tenancy });
}

// ---------------------------------------------------------------------------------------------
// Keys and shape
// ---------------------------------------------------------------------------------------------

/**
 * Keys of the namespace that are no setting: a misspelled key would be ignored (an app list under
 * one would deploy a cloud without apps), unless it is a secret that a {secret: ...} refers to.
 */
function checkKeys(raw: RawConfig, problems: Problems): Set<string> {
    const settings: readonly string[] = CONFIG_KEYS;
    const secrets = referencedSecrets(settings.map((k) => raw[k]));
    const meant = new Set<string>();
    for (const key of Object.keys(raw))
        if (!settings.includes(key) && !secrets.has(key)) {
            problems.report(at(key), unknownSetting(key));
            meant.add(didYouMean(key, settings) ?? "");
        }
    return meant;
}

function unknownSetting(key: string): string {
    const settings: readonly string[] = CONFIG_KEYS;
    const head = /^[^.[]+/.exec(key)?.[0] ?? key;
    if (head !== key && settings.includes(head)) return `is not a setting; to set a field of "${head}" run: pulumi config set --path '${key}' <value>`;
    const guess = didYouMean(key, settings);
    if (guess) return `unknown key; did you mean "${guess}"?`;
    return `unknown key: no matrix setting (see README, Configuration) and no secret that a {secret: ...} refers to; remove it with: pulumi config rm ${key}`;
}

/** The config keys named by {secret: <key>} anywhere in these values. */
function referencedSecrets(values: unknown[]): Set<string> {
    const names = new Set<string>();
    const walk = (v: unknown) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (typeof v === "object" && v !== null) {
            const secret = (v as { secret?: unknown }).secret;
            if (typeof secret === "string") names.add(secret);
            Object.values(v).forEach(walk);
        }
    };
    values.forEach(walk);
    return names;
}

/**
 * Shape, key by key, so one bad key does not hide problems in the others. A missing key that a
 * misspelled one meant is reported once, as the misspelling.
 */
function checkShape(raw: RawConfig, problems: Problems, meant: Set<string>): Partial<ParsedConfig> {
    const cfg: Partial<ParsedConfig> = {};
    for (const key of CONFIG_KEYS) {
        const schema = schemas[key] as z.ZodType;
        const result = schema.safeParse(raw[key], { error: shapeWords, reportInput: true });
        if (result.success) (cfg as Record<string, unknown>)[key] = result.data;
        else if (raw[key] === undefined) {
            if (!meant.has(key)) problems.report(at(key), REQUIRED_HINT[key] ?? "is required");
        }
        else for (const p of shapeProblems(schema, result.error.issues)) problems.report(at(key, ...p.path), p.message);
    }
    return cfg;
}

// ---------------------------------------------------------------------------------------------
// Network and hosts
// ---------------------------------------------------------------------------------------------

function checkNetwork({ cfg, problems }: Check): NetworkFacts {
    let range: ReturnType<typeof cidrRange> | undefined;
    let gateway = "";
    const inNet = (ip: string) => !!range && toInt(ip) > range.network && toInt(ip) < range.broadcast;
    if (cfg.network) {
        range = cidrRange(cfg.network.cidr);
        if (range.hostBitsSet) problems.report(at("network", "cidr"), `has host bits set; the network is ${toIp(range.network)}/${range.bits}`);
        if (range.bits > 30) problems.report(at("network", "cidr"), "must be /30 or larger to hold a manager and a node");
        gateway = cfg.network.gateway ?? toIp(range.broadcast - 1);
        if (!inNet(gateway)) problems.report(at("network", "gateway"), `must be inside ${cfg.network.cidr}`);
        const dhcp = cfg.network.dhcp;
        if (dhcp) {
            if (cfg.mode === "lab") problems.report(at("network", "dhcp"), "DHCP is not used in lab mode (Docker assigns the lab hosts' addresses); remove it");
            for (const k of ["start", "end"] as const) if (!inNet(dhcp[k])) problems.report(at("network", "dhcp", k), `must be inside ${cfg.network.cidr}`);
            if (toInt(dhcp.start) > toInt(dhcp.end)) problems.report(at("network", "dhcp"), `start ${dhcp.start} is after end ${dhcp.end}; swap them`);
        }
    }
    return { range, gateway, inNet };
}

/** The manager (first, when valid) and the nodes: unique names and addresses inside the network, and how to reach each. */
function checkHosts(c: Check, net: NetworkFacts, domain: string): Host[] {
    const { cfg } = c;
    const hostConfigs: [HostConfig, PropertyKey[]][] = [];
    if (cfg.manager) hostConfigs.push([cfg.manager, ["manager"]]);
    (cfg.nodes ?? []).forEach((n, i) => hostConfigs.push([n, ["nodes", i]]));
    const names = new Map<string, string>();
    const addresses = new Map<string, string>();
    return hostConfigs.map(([h, p], i) => {
        checkHostName(c, h, p, names, domain);
        checkHostAddress(c, h, p, net, addresses);
        const ssh = sshConnection(c, h, p, i);
        const role = i === 0 && cfg.manager ? "manager" : "node";
        if (role === "manager" && h.drain) c.problems.report(at(...p, "drain"), "applies to nodes only (the manager runs no replicas); remove it");
        return { name: h.name, role, address: h.address, fqdn: `${h.name}.${domain}`, ssh, groups: h.groups, labels: h.labels, drain: h.drain };
    });
}

function checkHostName({ problems }: Check, h: HostConfig, p: PropertyKey[], names: Map<string, string>, domain: string) {
    if (names.has(h.name)) problems.report(at(...p, "name"), `"${h.name}" is already used by ${names.get(h.name)}; host names must be unique`);
    names.set(h.name, at(...p));
    // The cloud's DNS answers registry.<domain> with the registry.
    if (h.name === "registry") problems.report(at(...p, "name"), `"registry" is the cloud's DNS name of its registry (registry.${domain}); choose another name`);
}

/** `<host>.<domain>` and `<app>.<domain>` (hostname: true) are DNS names too: at most 253 characters. */
function checkDomainLength({ cfg, problems }: Check, hosts: Host[]) {
    if (!cfg.domain) return;
    const apps = (cfg.applications ?? []).filter((a) => a.route.hostname === true).map((a) => a.name);
    const longest = [...hosts.map((h) => h.name), ...apps].sort((a, b) => b.length - a.length)[0];
    const length = longest ? longest.length + 1 + cfg.domain.length : 0;
    if (length > 253) problems.report(at("domain"), `makes the name ${longest}.<domain> ${length} characters long (DNS names are at most 253); shorten it`);
}

function checkHostAddress({ cfg, problems }: Check, h: HostConfig, p: PropertyKey[], net: NetworkFacts, addresses: Map<string, string>) {
    if (addresses.has(h.address)) problems.report(at(...p, "address"), `${h.address} is already used by ${addresses.get(h.address)}`);
    addresses.set(h.address, at(...p));
    if (net.range && !net.inNet(h.address)) problems.report(at(...p, "address"), `${h.address} is not a host address inside ${cfg.network!.cidr}`);
    if (net.range && h.address === net.gateway) problems.report(at(...p, "address"), `${h.address} is the network gateway; pick another address or set matrix:network.gateway`);
    const dhcp = cfg.network?.dhcp;
    if (dhcp && toInt(h.address) >= toInt(dhcp.start) && toInt(h.address) <= toInt(dhcp.end))
        problems.report(at(...p, "address"), `${h.address} is inside the DHCP range ${dhcp.start}-${dhcp.end}; static addresses must be outside it`);
}

/** How the deploying machine reaches host number `index`: the lab's published port, or SSH with a key. */
function sshConnection(c: Check, h: HostConfig, p: PropertyKey[], index: number): SshConnection {
    const { cfg, env, problems } = c;
    if (cfg.mode === "lab") {
        if (h.ssh) problems.report(at(...p, "ssh"), "is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it");
        const sshPortBase = (cfg.lab ?? schemas.lab.parse(undefined)).sshPortBase;
        return { host: "127.0.0.1", port: sshPortBase + index, user: "root" };
    }
    if (cfg.mode !== "ssh") return { host: h.address, port: 22, user: "root" }; // placeholder: the mode is reported invalid
    const sshDefaults = cfg.ssh ?? {};
    const privateKey = h.ssh?.privateKey ?? sshDefaults.privateKey;
    // Without matrix:ssh (its shape failed, reported there), a missing key is no second problem.
    if (!privateKey && cfg.ssh)
        problems.report(at("ssh", "privateKey"), 'is required in ssh mode: {path: "~/.ssh/id_ed25519"} or {secret: "sshPrivateKey"} (or per host under <host>.ssh.privateKey)');
    if (privateKey && "path" in privateKey && !env.isFile(expandHome(env, privateKey.path)))
        problems.report(h.ssh?.privateKey ? at(...p, "ssh", "privateKey", "path") : at("ssh", "privateKey", "path"), `${privateKey.path} does not exist on this machine`);
    if (privateKey && "secret" in privateKey) checkSecret(c, privateKey, h.ssh?.privateKey ? at(...p, "ssh", "privateKey") : at("ssh", "privateKey"));
    const key = privateKey && "path" in privateKey ? { path: expandHome(env, privateKey.path) } : privateKey;
    const via = h.ssh?.via;
    if (via !== undefined) checkVia(c, h, p, via);
    return { host: h.ssh?.host ?? h.address, port: h.ssh?.port ?? sshDefaults.port ?? 22, user: h.ssh?.user ?? sshDefaults.user ?? "root", privateKey: key, hostKey: h.ssh?.hostKey, via };
}

/** One hop through another host of the cloud, whose key and this host's key are both pinned. */
function checkVia({ cfg, problems }: Check, h: HostConfig, p: PropertyKey[], via: string) {
    const all = [...(cfg.manager ? [cfg.manager] : []), ...(cfg.nodes ?? [])];
    const jump = all.find((x) => x.name === via);
    if (via === h.name) problems.report(at(...p, "ssh", "via"), "names this host itself; name the host it is reached through (e.g. the manager)");
    else if (!jump) problems.report(at(...p, "ssh", "via"), `host "${via}" is not defined (known: ${all.map((x) => x.name).join(", ")}); name the manager or another host`);
    else if (jump.ssh?.via) problems.report(at(...p, "ssh", "via"), `host "${via}" is itself reached through "${jump.ssh.via}"; one hop only: name a host the deploying machine reaches directly`);
    // ssh-keyscan from the deploying machine cannot reach a host behind a jump host.
    if (!h.ssh?.hostKey) problems.report(at(...p, "ssh", "hostKey"), `is required with ssh.via (the host is not reachable to be scanned on first contact); set it to the host's key, e.g. from: ssh ${via} ssh-keyscan -t ed25519 ${h.address}`);
}

/** The port sshd listens on at the host: 22 inside a lab host, else the port the deploying machine dials. */
function sshdPort({ cfg }: Check, h: Host): number {
    return cfg.mode === "lab" ? 22 : h.ssh.port;
}

/** Upstream DNS is outside the cloud: the manager's dnsmasq would forward to itself, a node runs no DNS. */
function checkUpstreamDns({ cfg, problems }: Check, hosts: Host[]) {
    (cfg.network?.upstreamDns ?? []).forEach((ip, i) => {
        const host = hosts.find((h) => h.address === ip);
        if (host)
            problems.report(
                at("network", "upstreamDns", i),
                `${ip} is ${host.role === "manager" ? "the manager, whose DNS would forward to itself" : `node "${host.name}", which runs no DNS`}; list a resolver outside the cloud (or none: the manager's own)`,
            );
    });
}

/** Settings one mode ignores: set in the other, they would silently do nothing. */
function checkModeKeys({ raw, cfg, problems }: Check) {
    if (cfg.mode === "ssh" && isSet(raw.lab)) problems.report(at("lab"), 'is used in lab mode only (matrix:mode is "ssh"); remove it');
    if (cfg.mode !== "lab") return;
    if (isSet(raw.ssh)) problems.report(at("ssh"), "is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it");
    if (cfg.registry?.pushAddress) problems.report(at("registry", "pushAddress"), "is not used in lab mode (images are pushed to 127.0.0.1:<matrix:lab.registryPort>); remove it");
}

/** Lab mode publishes SSH per host and the router and registry on loopback ports: none may collide. */
function checkLabPorts({ cfg, problems }: Check, hostCount: number) {
    if (cfg.mode !== "lab" || !cfg.lab) return;
    const last = cfg.lab.sshPortBase + hostCount - 1;
    if (last > 65535) problems.report(at("lab", "sshPortBase"), `with ${hostCount} hosts the SSH ports would end at ${last}; lower it`);
    for (const k of ["routerPort", "registryPort"] as const)
        if (cfg.lab[k] >= cfg.lab.sshPortBase && cfg.lab[k] <= last) problems.report(at("lab", k), `${cfg.lab[k]} collides with the lab SSH ports ${cfg.lab.sshPortBase}-${last}`);
    if (cfg.lab.routerPort === cfg.lab.registryPort) problems.report(at("lab", "registryPort"), "must differ from matrix:lab.routerPort");
}

function nodeFacts(c: Check, hosts: Host[]): Nodes {
    const list = hosts.filter((h) => h.role === "node");
    const cores = new Map<string, { cores: number; where: string }>();
    (c.cfg.nodes ?? []).forEach((n, i) => n.cpus !== undefined && cores.set(n.name, { cores: n.cpus, where: at("nodes", i, "cpus") }));
    return { list, known: c.cfg.nodes !== undefined, cores, sshd: new Map(list.map((n) => [n.name, sshdPort(c, n)])), manager: c.cfg.manager?.name };
}

// ---------------------------------------------------------------------------------------------
// The manager's services and the host ports
// ---------------------------------------------------------------------------------------------

/**
 * The router, the registry and the router's admin port listen on the manager beside sshd and the
 * cloud's DNS (port 53); each needs a port of its own there.
 */
function checkManagerPorts(c: Check, hosts: Host[]) {
    const { cfg, problems } = c;
    const { router, registry } = cfg;
    if (cfg.manager && router && registry && router.port === registry.port) problems.report(at("registry", "port"), "must differ from matrix:router.port (both listen on the manager)");
    if (router && router.adminPort === router.port) problems.report(at("router", "adminPort"), "must differ from matrix:router.port");
    if (router && registry && router.adminPort === registry.port) problems.report(at("router", "adminPort"), "must differ from matrix:registry.port (both listen on the manager)");
    const manager = hosts.find((h) => h.role === "manager");
    if (!manager) return;
    const taken: [number, string][] = [[sshdPort(c, manager), "where sshd listens on the manager"], [53, "the port of the cloud's DNS on the manager"]];
    const check = (where: string, port: number, owners: [number, string][]) => {
        const owner = owners.find(([p]) => p === port);
        if (owner) problems.report(where, `${port} is ${owner[1]}; choose another port`);
    };
    if (router) check(at("router", "port"), router.port, taken);
    if (registry) check(at("registry", "port"), registry.port, taken);
    // The admin port binds 127.0.0.1 only, where the DNS does not listen.
    if (router) check(at("router", "adminPort"), router.adminPort, taken.slice(0, 1));
}

/** Varnish rejects a probe whose threshold exceeds its window (vcl.load would fail at deploy). */
function checkRouter({ cfg, problems }: Check) {
    const probe = cfg.router?.probe;
    if (probe && probe.threshold > probe.window)
        problems.report(at("router", "probe", "threshold"), `(${probe.threshold}) must be ≤ router.probe.window (${probe.window}): Varnish needs threshold good probes among the last window`);
}

/** A host key identifies one host: never a default for all. */
function checkSshDefaults({ cfg, problems }: Check) {
    if (cfg.ssh?.via) problems.report(at("ssh", "via"), "applies per host: set it under <host>.ssh.via for the hosts behind the jump host");
    if (cfg.ssh?.hostKey) problems.report(at("ssh", "hostKey"), "identifies one host: set it per host under <host>.ssh.hostKey (unset: pinned on first contact)");
}

function checkRegistry(c: Check) {
    if (c.cfg.registry?.auth) checkSecret(c, c.cfg.registry.auth.password, at("registry", "auth", "password"));
}

/** Automatic host ports are picked on the nodes: never sshd's port there. */
function checkHostPortRange({ cfg, problems }: Check, nodes: Nodes) {
    const range = cfg.hostPorts;
    if (!range) return;
    if (range.start > range.end) return problems.report(at("hostPorts"), `start ${range.start} is after end ${range.end}`);
    const inRange = [...nodes.sshd].filter(([, port]) => port >= range.start && port <= range.end);
    if (inRange.length) {
        const port = inRange[0][1];
        const on = inRange.filter(([, p]) => p === port).map(([n]) => n);
        problems.report(at("hostPorts"), `includes port ${port}, where sshd listens on ${on.length === nodes.list.length ? "every node" : nodeList(on)}; choose a range without it`);
    }
}

/** TLS: the operator's CA and router certificate (files or secrets), and ports that must not collide. */
function checkTls(c: Check, hosts: Host[]) {
    const { cfg, env, problems } = c;
    const pem = (source: { path: string } | SecretRef, ...key: string[]) => {
        if ("secret" in source) return checkSecret(c, source, at(...key));
        const text = env.readFile(pemPath(env, source.path));
        if (text === undefined) problems.report(at(...key, "path"), `${source.path} does not exist on this machine`);
        else if (!text.includes("-----BEGIN CERTIFICATE-----")) problems.report(at(...key, "path"), `${source.path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
    };
    if (cfg.tls?.ca) {
        pem(cfg.tls.ca.certificate, "tls", "ca", "certificate");
        checkSecret(c, cfg.tls.ca.key, at("tls", "ca", "key"));
    }
    const tls = cfg.router?.tls;
    if (!tls) return;
    if (!tls.enabled) {
        if (tls.redirectHttp) problems.report(at("router", "tls", "redirectHttp"), "needs TLS: remove it or set matrix:router.tls.enabled to true");
        return;
    }
    if (!!tls.certificate !== !!tls.key)
        problems.report(at("router", "tls", tls.certificate ? "key" : "certificate"), `is required with matrix:router.tls.${tls.certificate ? "certificate" : "key"} (the operator's certificate goes with its key); set both or neither`);
    if (tls.certificate) pem(tls.certificate, "router", "tls", "certificate");
    if (tls.key) checkSecret(c, tls.key, at("router", "tls", "key"));
    const taken: [number | undefined, string][] = [
        [cfg.router!.port, "matrix:router.port"],
        [cfg.router!.adminPort, "matrix:router.adminPort"],
        [cfg.registry?.port, "matrix:registry.port"],
    ];
    for (const [p, what] of taken) if (tls.port === p) problems.report(at("router", "tls", "port"), `must differ from ${what} (both listen on the manager)`);
    for (const [p, what] of [...taken, [tls.port, "matrix:router.tls.port"]] as const) if (tls.proxyPort === p) problems.report(at("router", "tls", "proxyPort"), `must differ from ${what} (both listen on the manager)`);
    const manager = hosts.find((h) => h.role === "manager");
    if (manager) {
        const sshd = sshdPort(c, manager);
        if (tls.port === sshd || tls.proxyPort === sshd) problems.report(at("router", "tls", tls.port === sshd ? "port" : "proxyPort"), `${sshd} is where sshd listens on the manager; choose another port`);
        if (tls.port === 53) problems.report(at("router", "tls", "port"), "53 is the port of the cloud's DNS on the manager; choose another port");
    }
    if (cfg.mode === "lab" && cfg.lab) {
        const last = cfg.lab.sshPortBase + hosts.length - 1;
        const port = cfg.lab.routerTlsPort;
        if (port >= cfg.lab.sshPortBase && port <= last) problems.report(at("lab", "routerTlsPort"), `${port} collides with the lab SSH ports ${cfg.lab.sshPortBase}-${last}`);
        if (port === cfg.lab.routerPort || port === cfg.lab.registryPort) problems.report(at("lab", "routerTlsPort"), "must differ from matrix:lab.routerPort and matrix:lab.registryPort");
    }
}

/**
 * The monitor listens on the manager and cAdvisor on every node: each beside the ports the cloud
 * already uses there (on the manager its services, sshd and DNS; on nodes sshd and the replicas' host ports).
 */
/** Every port the cloud itself holds on the manager, and who holds it (for collision messages). */
function managerPorts(c: Check, hosts: Host[]): [number | undefined, string][] {
    const { cfg } = c;
    const manager = hosts.find((h) => h.role === "manager");
    const tls = cfg.router?.tls;
    return [
        [manager && sshdPort(c, manager), "where sshd listens on the manager"],
        [53, "the port of the cloud's DNS on the manager"],
        [cfg.router?.port, "matrix:router.port"],
        [cfg.router?.adminPort, "matrix:router.adminPort"],
        [cfg.registry?.port, "matrix:registry.port"],
        [tls?.enabled ? tls.port : undefined, "matrix:router.tls.port"],
        [tls?.enabled ? tls.proxyPort : undefined, "matrix:router.tls.proxyPort"],
        [cfg.monitoring?.enabled ? cfg.monitoring.port : undefined, "matrix:monitoring.port"],
        [cfg.tenancy && (cfg.tenants ?? []).length ? cfg.tenancy.jumpPort : undefined, "matrix:tenancy.jumpPort"],
    ];
}

function checkMonitoring(c: Check, hosts: Host[], nodes: Nodes, replicas: Map<string, Replica[]>) {
    const { cfg, problems } = c;
    const m = cfg.monitoring;
    // Off: none of its ports is taken. Its binaries are build outputs, built during `up`
    // (components/monitoring.ts), never configuration: nothing here looks for them.
    if (!m?.enabled) return;
    const interval = durationMs(m.interval);
    if (interval < 1000 || interval > 60_000) problems.report(at("monitoring", "interval"), `(${m.interval}) must be between 1s and 1m`);
    const history = durationMs(m.history);
    if (history < interval) problems.report(at("monitoring", "history"), `(${m.history}) must be at least matrix:monitoring.interval (${m.interval})`);
    else if (history / interval > 20_000) problems.report(at("monitoring", "history"), `(${m.history}) keeps more than 20000 samples at ${m.interval}; shorten it or poll less often`);
    const housekeeping = durationMs(m.housekeepingInterval);
    if (housekeeping < 1000 || housekeeping > 60_000) problems.report(at("monitoring", "housekeepingInterval"), `(${m.housekeepingInterval}) must be between 1s and 1m`);

    const clash = (port: number, owners: [number | undefined, string][]) => owners.find(([p]) => p === port)?.[1];
    // The jump port's own check reports a clash between the two, once.
    const onManager = managerPorts(c, hosts).filter(([, owner]) => owner !== "matrix:monitoring.port" && owner !== "matrix:tenancy.jumpPort");
    const portOwner = clash(m.port, onManager);
    if (portOwner) problems.report(at("monitoring", "port"), `${m.port} is already ${portOwner.startsWith("matrix:") ? `used by ${portOwner}` : portOwner}; choose another port`);
    const onNodes: string[] = [];
    const sshdNodes = [...nodes.sshd].filter(([, p]) => p === m.cadvisorPort).map(([n]) => n);
    if (sshdNodes.length) onNodes.push(`where sshd listens on ${nodeList(sshdNodes)}`);
    const range = cfg.hostPorts;
    if (range && m.cadvisorPort >= range.start && m.cadvisorPort <= range.end) onNodes.push(`inside matrix:hostPorts (${range.start}-${range.end}), where replicas' ports are picked`);
    for (const [app, rs] of replicas) {
        const fixed = rs.filter((r) => r.fixedPort && r.hostPort === m.cadvisorPort).map((r) => r.node);
        if (fixed.length) onNodes.push(`the host port of app "${app}" on ${nodeList(fixed)}`);
    }
    for (const owner of onNodes) problems.report(at("monitoring", "cadvisorPort"), `${m.cadvisorPort} is ${owner}; choose another port`);

    if (cfg.mode === "lab" && cfg.lab) {
        const last = cfg.lab.sshPortBase + hosts.length - 1;
        const port = cfg.lab.monitorPort;
        if (port >= cfg.lab.sshPortBase && port <= last) problems.report(at("lab", "monitorPort"), `${port} collides with the lab SSH ports ${cfg.lab.sshPortBase}-${last}`);
        const other = (["routerPort", "registryPort", "routerTlsPort"] as const).find((k) => cfg.lab![k] === port);
        if (other) problems.report(at("lab", "monitorPort"), `must differ from matrix:lab.${other}`);
    }
}

/** A PEM file's path as configured: relative to the project, ~ for the home directory. */
function pemPath(env: ConfigEnv, file: string): string {
    return path.resolve(env.projectDir, expandHome(env, file));
}

function checkSecret({ env, problems }: Check, ref: SecretRef, where: string) {
    if (!env.secretExists(ref.secret)) problems.report(where, `secret config key "${ref.secret}" is not set; run: pulumi config set --secret ${ref.secret} <value>`);
}

// ---------------------------------------------------------------------------------------------
// Applications
// ---------------------------------------------------------------------------------------------

/** The seed's plan file, when configured: its lines, each naming a known node. */
function readPlan({ cfg, env, problems }: Check, nodes: Nodes): Plan {
    if (!cfg.planFile) return { lines: [], name: "" };
    const file = path.resolve(env.projectDir, cfg.planFile);
    const name = cfg.planFile;
    const text = env.readFile(file);
    if (text === undefined) {
        problems.report(at("planFile"), `file ${file} does not exist; create it or remove the key`);
        return { lines: [], name };
    }
    const parsed = parsePlan(text, name);
    problems.add(parsed.problems);
    for (const l of parsed.lines)
        if (nodes.known && !nodes.list.some((n) => n.name === l.node)) problems.report(`${name}:${l.line}`, unknownNode(nodes, l.node));
    return { lines: parsed.lines, name };
}

/**
 * Config entries, plus plan-file apps that have none (seed convention: build apps/<name>).
 * `origin` maps each app name to where it is first defined; a later entry of that name is a duplicate.
 */
function collectApplications({ cfg, problems }: Check, plan: Plan): { entries: AppEntry[]; origin: Map<string, string> } {
    const origin = new Map<string, string>();
    // A list that failed its shape check may hold the entry of a planned app: imply none.
    if (!cfg.applications) return { entries: [], origin };
    const entries: AppEntry[] = cfg.applications.map((a, i) => [a, ["applications", i]]);
    for (const [a, p] of entries) {
        if (origin.has(a.name)) problems.report(at(...p, "name"), `"${a.name}" is already defined at ${origin.get(a.name)}`);
        origin.set(a.name, at(...p));
    }
    for (const l of plan.lines)
        if (!origin.has(l.app)) {
            origin.set(l.app, `${plan.name}:${l.line}`);
            entries.push([schemas.applications.parse([{ name: l.app, build: `apps/${l.app}` }])[0], []]);
        }
    return { entries, origin };
}

/** Routes and DNS names claimed so far, across applications. */
interface Claims {
    /** `<hostname> <path>` -> the app routed there. */
    routes: Map<string, string>;
    /** Names dnsmasq already answers for the hosts and the registry; an app hostname must not shadow them. */
    reservedNames: Map<string, string>;
}

/** One application's entry while it is checked: where to report, and its plan-file lines. */
interface AppCheck {
    a: AppConfig;
    where: string;
    /** Key path under the entry (or the plan line, for an app implied by the plan). */
    w: (...k: PropertyKey[]) => string;
    lines: PlanLine[];
}

function checkApplications(
    c: Check,
    entries: AppEntry[],
    origin: Map<string, string>,
    plan: Plan,
    nodes: Nodes,
    hosts: Host[],
    domain: string,
): { apps: Omit<Application, "replicas">[]; portRequests: PortRequest[] } {
    const claims: Claims = { routes: new Map(), reservedNames: new Map([[`registry.${domain}`, "the registry"]]) };
    // The cloud's DNS answers each host's short name and its name in the domain.
    for (const h of hosts) for (const n of [h.fqdn, h.name]) claims.reservedNames.set(n, `host "${h.name}"`);
    const apps: Omit<Application, "replicas">[] = [];
    const placements: { app: string; where: string; placement: AppPlacement }[] = [];
    for (const [a, p] of entries) {
        if (p.length && origin.get(a.name) !== at(...p)) continue; // a duplicate, reported above
        const fromPlan = p.length === 0;
        const where = fromPlan ? origin.get(a.name)! : at(...p);
        const app: AppCheck = { a, where, w: (...k) => (fromPlan ? where : at(...p, ...k)), lines: plan.lines.filter((l) => l.app === a.name) };
        const source = appSource(c, app);
        const placement = appPlacement(c, app, plan, nodes);
        placements.push({ app: a.name, where, placement });
        const containerPort = appPort(c, app, plan);
        const env = appEnv(c, app);
        const { memory, memoryReservation } = appMemory(c, app);
        appCpus(c, app, candidateNodes(placement), nodes);
        const route = appRoute(c, app, claims, domain);
        checkHealth(c, app);
        checkSecurity(c, app);
        apps.push({
            name: a.name,
            source: source!,
            containerPort: containerPort ?? 0,
            env,
            cpus: a.cpus,
            cpuset: a.cpuset,
            memory,
            memoryReservation,
            restart: a.restart,
            route,
            health: appHealth(a, route),
            update: a.update,
            security: a.security,
            director: a.director,
            timeouts: appTimeouts(c, a),
            placedBy: app.lines.length ? "plan" : "config",
        });
    }
    return { apps, portRequests: placeInOrder(placements, nodes) };
}

/** Where an app goes: fixed nodes (with their host ports), or `count` of the eligible nodes. */
type AppPlacement = { fixed: PortRequest["nodes"] } | { eligible: Host[]; count: number; hostPort?: number };

/** The nodes an app may run on: its fixed nodes, or every node it is eligible for. */
function candidateNodes(p: AppPlacement): string[] {
    return "fixed" in p ? p.fixed.map((n) => n.node) : p.eligible.map((n) => n.name);
}

/** Spread apps take nodes in config order, counting the replicas of the apps before them (placeApps). */
function placeInOrder(placements: { app: string; where: string; placement: AppPlacement }[], nodes: Nodes): PortRequest[] {
    const placed = placeApps(placements.map(({ app, placement: p }) => ("fixed" in p ? { app, nodes: p.fixed.map((n) => n.node) } : { app, eligible: p.eligible, count: p.count })));
    return placements.flatMap(({ app, where, placement: p }) => {
        const onNodes =
            "fixed" in p ? p.fixed : placed.get(app)!.map((name) => ({ node: name, address: nodes.list.find((n) => n.name === name)!.address, hostPort: p.hostPort }));
        return onNodes.length ? [{ app, where, nodes: onNodes }] : [];
    });
}

/** A directory to build (with its Dockerfile) or an image reference; undefined when invalid (reported). */
function appSource({ env, problems }: Check, { a, where, w }: AppCheck): Application["source"] | undefined {
    if (!!a.build === !!a.image) problems.report(where, 'needs exactly one of "build" (a directory with a Dockerfile) or "image" (an image reference)');
    else if (a.image) {
        if (a.version) problems.report(w("version"), `pins a built app to an earlier build; for an image app set image to the earlier reference instead`);
        else return { kind: "image", ref: a.image };
    } else if (a.version) return { kind: "pinned", tag: a.version };
    else {
        const b = typeof a.build === "string" ? buildSchema.parse({ context: a.build }) : a.build!;
        const dir = path.resolve(env.projectDir, b.context);
        const dockerfile = path.resolve(dir, b.dockerfile);
        if (!env.isFile(dockerfile)) problems.report(w("build"), `${dockerfile} does not exist; the build context must contain a Dockerfile`);
        else {
            // The tag covers all the image is made of: the context, the Dockerfile (also one outside
            // the context), build args, and the base images as the local engine has them (else by name).
            const text = env.readFile(dockerfile) ?? "";
            const bases = baseImages(text, b.args).map((ref) => [ref, env.imageId(ref) ?? ""]);
            return { kind: "build", dir, dockerfile: b.dockerfile, args: b.args, hash: contentHash(JSON.stringify([env.hashDir(dir), b.dockerfile, text, b.args, bases])) };
        }
    }
    return undefined;
}

/** The nodes the app runs on: from the plan file, an explicit list, or `replicas` of the eligible nodes. */
function appPlacement(c: Check, app: AppCheck, plan: Plan, nodes: Nodes): AppPlacement {
    const { a, where, w, lines } = app;
    const { problems } = c;
    if (lines.length && (a.nodes !== undefined || a.replicas !== undefined))
        problems.report(w("nodes"), `is also placed by ${plan.name} (lines ${lines.map((l) => l.line).join(", ")}); use one or the other`);
    else if (lines.length) return planPlacement(c, app, plan, nodes);
    else if (a.nodes !== undefined && a.replicas !== undefined) problems.report(where, 'set either "nodes" (explicit) or "replicas" (spread), not both');
    else if (a.nodes) return { fixed: listedPlacement(c, app, nodes) };
    else if (a.replicas !== undefined) return spreadPlacement(c, app, nodes) ?? { fixed: [] };
    else problems.report(where, `is not placed: set "nodes", "replicas", or add lines to the plan file`);
    return { fixed: [] };
}

function planPlacement({ problems }: Check, { a, w, lines }: AppCheck, plan: Plan, nodes: Nodes): AppPlacement {
    if (a.hostPort !== undefined) problems.report(w("hostPort"), `is set by ${plan.name}; remove it here`);
    for (const l of lines) {
        const node = nodes.list.find((n) => n.name === l.node);
        if (node?.drain) problems.report(`${plan.name}:${l.line}`, drained(l.node, "move this line to another node"));
        if (node && nodes.sshd.get(node.name) === l.hostPort) problems.report(`${plan.name}:${l.line}`, `external_port ${l.hostPort} is where sshd listens on node "${l.node}"; choose another port`);
    }
    // An unknown node is reported by readPlan; its empty address is never used.
    return { fixed: lines.map((l) => ({ node: l.node, address: nodes.list.find((n) => n.name === l.node)?.address ?? "", hostPort: l.hostPort })) };
}

function listedPlacement({ problems }: Check, { a, w }: AppCheck, nodes: Nodes): PortRequest["nodes"] {
    const placed: PortRequest["nodes"] = [];
    if (a.selector) problems.report(w("selector"), 'only applies with "replicas"; remove it or use replicas');
    a.nodes!.forEach((n, i) => {
        if (!nodes.known) return;
        const node = nodes.list.find((h) => h.name === n);
        if (!node) problems.report(w("nodes", i), unknownNode(nodes, n));
        else if (a.nodes!.indexOf(n) !== i) problems.report(w("nodes", i), `node "${n}" is listed twice; one replica per node`);
        else if (node.drain) problems.report(w("nodes", i), drained(n, "list another node, or use replicas to let placement choose"));
        else placed.push({ node: n, address: node.address, hostPort: a.hostPort });
    });
    checkFixedHostPort(problems, w, a.hostPort, placed.map((p) => p.node), nodes);
    return placed;
}

/** `replicas` of the nodes the selector matches that are not drained; undefined when that fails (reported). */
function spreadPlacement({ problems }: Check, { a, w }: AppCheck, nodes: Nodes): AppPlacement | undefined {
    if (!nodes.known) return undefined; // reported under matrix:nodes
    const matching = eligibleNodes(nodes.list, a.selector);
    const eligible = matching.filter((n) => !n.drain);
    if (a.selector && matching.length === 0) problems.report(w("selector"), selectorMatchesNone(a.selector, nodes.list));
    else if (a.replicas! > eligible.length)
        problems.report(w("replicas"), `must be ≤ number of eligible nodes (${eligible.length})${a.selector ? " matching the selector" : ""}${nodes.list.some((n) => n.drain) ? ", drained nodes excluded" : ""}; lower it or add nodes`);
    else {
        checkFixedHostPort(problems, w, a.hostPort, eligible.map((n) => n.name), nodes);
        return { eligible, count: a.replicas!, hostPort: a.hostPort };
    }
    return undefined;
}

/** Which part of a selector no node has, and what the nodes do have. */
function selectorMatchesNone(selector: Selector, nodes: Host[]): string {
    const { group, labels = {} } = selector;
    if (group && !nodes.some((n) => n.groups.includes(group))) {
        const groups = [...new Set(nodes.flatMap((n) => n.groups))].sort();
        return `matches no node: no node is in group "${group}" (the nodes' groups: ${groups.join(", ") || "none"}); fix the group or add it to nodes`;
    }
    const wanted = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ");
    const have = nodes.map((n) => `${n.name} ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(",") || "(none)"}`).join("; ");
    return `matches no node: no node${group ? ` in group "${group}"` : ""} has the labels ${wanted} (the nodes' labels: ${have}); fix the labels or label the nodes`;
}

/** A fixed host port must not be sshd's port on a node the app may run on. */
function checkFixedHostPort(problems: Problems, w: AppCheck["w"], hostPort: number | undefined, on: string[], nodes: Nodes) {
    const clash = on.filter((n) => nodes.sshd.get(n) === hostPort);
    if (hostPort !== undefined && clash.length) problems.report(w("hostPort"), `${hostPort} is where sshd listens on ${nodeList(clash)}; choose another port`);
}

function drained(node: string, fix: string): string {
    return `node "${node}" is drained (drain: true in matrix:nodes); ${fix}, or undrain the node`;
}

/** The one port the app listens on inside its container, from the config or the plan file. */
function appPort({ problems }: Check, { a, w, lines }: AppCheck, plan: Plan): number | undefined {
    const planPorts = [...new Set(lines.map((l) => l.containerPort))];
    if (planPorts.length > 1) problems.report(`${plan.name}:${lines[1].line}`, `internal_port differs between lines for app "${a.name}" (${planPorts.join(", ")}); an app listens on one port`);
    if (a.port !== undefined && planPorts.length && planPorts[0] !== a.port) problems.report(w("port"), `is ${a.port} but ${plan.name} says ${planPorts[0]}`);
    const containerPort = a.port ?? planPorts[0];
    if (containerPort === undefined) problems.report(w("port"), "is required: the port the app listens on inside its container");
    return containerPort;
}

function appEnv(c: Check, { a, w }: AppCheck): EnvValue[] {
    return Object.entries(a.env).map(([k, v]) => {
        if (typeof v === "string") return { name: k, value: v };
        checkSecret(c, v, w("env", k));
        return { name: k, secret: v.secret };
    });
}

/** Memory limits in MiB. */
function appMemory({ problems }: Check, { a, w }: AppCheck): { memory?: number; memoryReservation?: number } {
    const memory = parseSize(a.memory);
    const memoryReservation = parseSize(a.memoryReservation);
    if (memory !== undefined && memory < MIN_MEMORY_MIB) problems.report(w("memory"), `must be at least ${MIN_MEMORY_MIB} MiB (Docker's minimum)`);
    if (memoryReservation !== undefined && memoryReservation < MIN_MEMORY_MIB) problems.report(w("memoryReservation"), `must be at least ${MIN_MEMORY_MIB} MiB (Docker's minimum)`);
    else if (memory !== undefined && memoryReservation !== undefined && memoryReservation > memory)
        problems.report(w("memoryReservation"), `(${memoryReservation} MiB) must be ≤ memory (${memory} MiB): the soft limit sits below the hard one`);
    return { memory, memoryReservation };
}

/** Docker refuses a container with more CPUs, or CPUs other than, its node has (where the node declares its cores). */
function appCpus({ problems }: Check, { a, w }: AppCheck, candidates: string[], nodes: Nodes) {
    const declared = candidates.flatMap((n) => (nodes.cores.has(n) ? [{ node: n, ...nodes.cores.get(n)! }] : []));
    const fix = (list: unknown[]) => `or keep the app off ${list.length === 1 ? "it" : "them"} (nodes or selector)`;
    const cores = (list: typeof declared) => `${nodeList(list.map((d) => d.node)).replace(/"/g, "")} (${list.map((d) => plural(d.cores, "core")).join(", ")})`;
    if (a.cpus !== undefined) {
        const small = declared.filter((d) => a.cpus! > d.cores);
        if (small.length) problems.report(w("cpus"), `${a.cpus} is more than ${cores(small)} can give; lower it, ${fix(small)}`);
    }
    if (a.cpuset !== undefined) {
        const set = cpusetCpus(a.cpuset);
        if ("problem" in set) return problems.report(w("cpuset"), set.problem);
        // Docker takes both, and the app silently gets no more than the cpuset's CPUs.
        if (a.cpus !== undefined && a.cpus > set.count) problems.report(w("cpus"), `${a.cpus} is more than the ${plural(set.count, "CPU")} of cpuset "${a.cpuset}"; lower cpus or widen cpuset`);
        const lacking = declared.filter((d) => set.max >= d.cores);
        if (lacking.length) problems.report(w("cpuset"), `names CPU ${set.max}, which ${cores(lacking)} lacks (CPUs count from 0); use CPUs every node has, ${fix(lacking)}`);
    }
}

/** Docker's health check and the deploy's wait for it: a deploy that cannot pass is a config error. */
function checkHealth({ problems }: Check, { a, w }: AppCheck) {
    const h = a.health;
    const t = { interval: durationMs(h.interval), timeout: durationMs(h.timeout), startPeriod: durationMs(h.startPeriod), deployTimeout: durationMs(h.deployTimeout) };
    for (const k of ["interval", "timeout", "startPeriod"] as const)
        if (t[k] > MAX_GO_DURATION_MS) problems.report(w("health", k), "is longer than Docker accepts (about 2562047h)");
    if (t.deployTimeout <= t.interval)
        problems.report(w("health", "deployTimeout"), `(${h.deployTimeout}) must be longer than health.interval (${h.interval}): the first check runs one interval after the start`);
    else if (t.deployTimeout < t.startPeriod)
        problems.report(w("health", "deployTimeout"), `(${h.deployTimeout}) must be at least health.startPeriod (${h.startPeriod}): the deploy would give up while the app may still be starting`);
}

/** A capability both added and dropped: Docker would silently apply one of the two. */
function checkSecurity({ problems }: Check, { a, w }: AppCheck) {
    const bare = (cap: string) => cap.replace(/^CAP_/, "");
    const dropped = new Set(a.security.capDrop.map(bare));
    a.security.capAdd.forEach((cap, i) => {
        if (bare(cap) !== "ALL" && dropped.has(bare(cap))) problems.report(w("security", "capAdd", i), `${cap} is also in security.capDrop; keep it in one of the two`);
    });
}

function appHealth(a: AppConfig, route: Application["route"]): Application["health"] {
    const { deployTimeout, ...h } = a.health;
    return {
        ...h,
        // Without a prefix to strip, the app serves under its route path: probe it there.
        path: h.path ?? (a.route.stripPrefix ? "/" : route.path),
        interval: goDuration(h.interval),
        timeout: goDuration(h.timeout),
        startPeriod: goDuration(h.startPeriod),
        deployTimeoutSeconds: Math.ceil(durationMs(deployTimeout) / 1000),
    };
}

/** The app's own router timeouts, each falling back to matrix:router's. */
function appTimeouts({ cfg }: Check, a: AppConfig): Application["timeouts"] {
    const r = cfg.router ?? schemas.router.parse(undefined);
    return { connect: a.timeouts.connect ?? r.connectTimeout, firstByte: a.timeouts.firstByte ?? r.firstByteTimeout, betweenBytes: a.timeouts.betweenBytes ?? r.betweenBytesTimeout };
}

/** A route is (hostname or any host, path prefix): apps may share a virtual host. */
function appRoute({ problems }: Check, { a, w }: AppCheck, claims: Claims, domain: string): Application["route"] {
    const routePath = a.route.path ?? `/${a.name}/`;
    const hostname = a.route.hostname === true ? `${a.name}.${domain}` : a.route.hostname;
    const routeKey = `${hostname ?? ""} ${routePath}`;
    if (claims.routes.has(routeKey)) problems.report(w("route", "path"), `"${routePath}"${hostname ? ` on ${hostname}` : ""} is already routed to ${claims.routes.get(routeKey)}`);
    claims.routes.set(routeKey, `app "${a.name}"`);
    const owner = hostname && claims.reservedNames.get(hostname);
    if (owner) problems.report(w("route", "hostname"), `"${hostname}" is the DNS name of ${owner}; choose another hostname`);
    return { path: routePath, hostname, stripPrefix: a.route.stripPrefix };
}

function assignHostPorts({ cfg, problems }: Check, requests: PortRequest[]): Map<string, Replica[]> {
    // A reversed range is reported above; place with the default meanwhile to find other problems.
    const hostPorts = cfg.hostPorts && cfg.hostPorts.start <= cfg.hostPorts.end ? cfg.hostPorts : schemas.hostPorts.parse(undefined)!;
    const { replicas, problems: portProblems } = assignPorts(requests, hostPorts);
    problems.add(portProblems);
    return replicas;
}

/** Tenants, instances, pools and allocations (tenancy-config.ts), and the jump host's port on the manager. */
function checkTenancyKeys(c: Check, nodes: Nodes, hosts: Host[], apps: Omit<Application, "replicas">[], replicas: Map<string, Replica[]>, domain: string): Tenancy {
    const { cfg, problems } = c;
    const memory = new Map<string, { mib: number; where: string }>();
    (cfg.nodes ?? []).forEach((n, i) => {
        const mib = parseSize(n.memory);
        if (mib !== undefined) memory.set(n.name, { mib, where: at("nodes", i, "memory") });
    });
    const dnsNames = new Map<string, string>([[`registry.${domain}`, "the registry's"]]);
    for (const h of hosts) dnsNames.set(h.fqdn, `host "${h.name}"'s`);
    for (const a of apps) if (a.route.hostname) dnsNames.set(a.route.hostname, `app "${a.name}"'s hostname`);
    const where = new Map((cfg.applications ?? []).map((a, i) => [a.name, at("applications", i)]));
    const tenancy = checkTenancy({
        cfg,
        cloudName: cfg.cloudName ?? schemas.cloudName.parse(undefined),
        domain,
        nodes: nodes.list,
        nodesKnown: nodes.known,
        manager: nodes.manager,
        cores: nodes.cores,
        memory,
        apps: apps.map((a) => ({ name: a.name, where: where.get(a.name) ?? a.name, nodes: (replicas.get(a.name) ?? []).map((r) => r.node), cpuset: a.cpuset, memory: a.memory })),
        dnsNames,
        parseSize,
        at,
        problems,
    });
    const jump = cfg.tenancy?.jumpPort;
    if (jump !== undefined && tenancy.tenants.length) {
        const taken = managerPorts(c, hosts).filter(([, owner]) => owner !== "matrix:tenancy.jumpPort");
        const clash = taken.find(([p]) => p === jump);
        if (clash) problems.report(at("tenancy", "jumpPort"), `${jump} is ${clash[1]} (both on the manager); choose another port, e.g. 2222`);
    }
    if (cfg.mode === "lab" && cfg.lab && tenancy.tenants.length) {
        const last = cfg.lab.sshPortBase + hosts.length - 1;
        const port = cfg.lab.jumpPort;
        if (port >= cfg.lab.sshPortBase && port <= last) problems.report(at("lab", "jumpPort"), `${port} collides with the lab SSH ports ${cfg.lab.sshPortBase}-${last}`);
        else if ([cfg.lab.routerPort, cfg.lab.registryPort, cfg.lab.routerTlsPort, cfg.lab.monitorPort].includes(port)) problems.report(at("lab", "jumpPort"), "must differ from matrix:lab.routerPort, registryPort, routerTlsPort and monitorPort");
    }
    return tenancy;
}

/** The model, from a config known valid: every check above passed. */
function assemble(
    cfg: Partial<ParsedConfig>,
    facts: { env: ConfigEnv; domain: string; net: NetworkFacts; hosts: Host[]; nodes: Host[]; apps: Omit<Application, "replicas">[]; replicas: Map<string, Replica[]>; tenancy: Tenancy },
): Model {
    const { domain, net, nodes, apps, replicas } = facts;
    const network = cfg.network!;
    const manager = facts.hosts[0];
    const lab = cfg.mode === "lab" ? cfg.lab! : undefined;
    const registryPort = cfg.registry!.port;
    const pemModel = (source: { path: string } | SecretRef | undefined) => (source && "path" in source ? { path: pemPath(facts.env, source.path) } : source);
    return {
        cloudName: cfg.cloudName!,
        mode: cfg.mode!,
        domain,
        network: { cidr: network.cidr, netmask: net.range!.netmask, gateway: net.gateway, dhcp: network.dhcp, upstreamDns: network.upstreamDns },
        manager,
        nodes,
        registry: {
            port: registryPort,
            address: `${manager.fqdn}:${registryPort}`,
            pushAddress: lab ? `127.0.0.1:${lab.registryPort}` : (cfg.registry!.pushAddress ?? `${manager.address}:${registryPort}`),
            auth: cfg.registry!.auth,
            keep: cfg.registry!.keep,
        },
        router: { ...cfg.router!, tls: { ...cfg.router!.tls, certificate: pemModel(cfg.router!.tls.certificate) } },
        tls: { ca: cfg.tls!.ca && { certificate: pemModel(cfg.tls!.ca.certificate)!, key: cfg.tls!.ca.key } },
        lab,
        monitoring: {
            enabled: cfg.monitoring!.enabled,
            port: cfg.monitoring!.port,
            bind: cfg.monitoring!.bind ?? manager.address,
            intervalSeconds: durationMs(cfg.monitoring!.interval) / 1000,
            historySeconds: durationMs(cfg.monitoring!.history) / 1000,
            cadvisorPort: cfg.monitoring!.cadvisorPort,
            housekeepingInterval: cfg.monitoring!.housekeepingInterval,
            cadvisorImage: cfg.monitoring!.cadvisorImage,
        },
        hostPorts: cfg.hostPorts!,
        baseImage: cfg.baseImage!,
        platform: cfg.platform || facts.env.platform,
        applications: apps.map((a) => ({ ...a, replicas: replicas.get(a.name) ?? [] })),
        tenancy: facts.tenancy,
    };
}
