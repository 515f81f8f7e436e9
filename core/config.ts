// Stack config -> validated Model. Every problem is collected and reported at once, each
// naming its key path (or plan-file line) and the fix, before any resource is registered.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import ms from "ms";
import { z } from "zod";
import { baseImages } from "./build";
import { contentHash, directoryHash } from "./hash";
import { Application, EnvValue, Host, Model, Replica, SecretRef, SshConnection } from "./model";
import { goDuration } from "./replica";
import { eligibleNodes, PortRequest, assignPorts, placeApps } from "./placement";
import { parsePlan, PlanLine } from "./planfile";
import { keyPath, Problems } from "./problems";
import { AppConfig, buildSchema, CONFIG_KEYS, HostConfig, ParsedConfig, RawConfig, schemas } from "./schema";

export const NAMESPACE = "matrix";

/** What validation needs from the outside world; tests pass fakes. */
export interface ConfigEnv {
    /** Directory that relative paths (build contexts, plan file) are resolved against. */
    projectDir: string;
    /** Whether a secret config key (`pulumi config set --secret <key>`) is set. */
    secretExists(key: string): boolean;
    readFile(file: string): string | undefined;
    isFile(file: string): boolean;
    hashDir(dir: string): string;
    /** The local Docker engine's id of an image, when it has it: a base image that changes changes the build. */
    imageId(ref: string): string | undefined;
}

export function nodeEnv(projectDir: string, secretExists: (key: string) => boolean): ConfigEnv {
    return {
        projectDir,
        secretExists,
        readFile: (f) => (fs.existsSync(f) && fs.statSync(f).isFile() ? fs.readFileSync(f, "utf8") : undefined),
        isFile: (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
        hashDir: directoryHash,
        imageId: (ref) => {
            const r = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { encoding: "utf8", timeout: 10_000 });
            return r.status === 0 ? r.stdout.trim() : undefined;
        },
    };
}

const REQUIRED_HINT: Partial<Record<string, string>> = {
    network: 'is required, e.g. {cidr: "10.10.10.0/24"}',
    manager: 'is required, e.g. {name: manager, address: 10.10.10.1}',
    nodes: "is required: a list of {name, address}",
};

// ---- IPv4 helpers (the network is small and IPv4-only, like the seed's) ----
const toInt = (ip: string) => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
function cidrRange(cidr: string) {
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    const network = Math.floor(toInt(base) / size) * size;
    return { network, broadcast: network + size - 1, netmask: toIp(2 ** 32 - size), bits: Number(bits) };
}

function expandHome(p: string): string {
    return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

function parseSize(v: number | string | undefined): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    const m = /^(\d+)([mMgG]?)$/.exec(v)!;
    return Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1);
}

/** What every check reads, and where it reports. */
interface Check {
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
}

interface Plan {
    lines: PlanLine[];
    /** The plan file as configured, for messages. */
    name: string;
}

/** An application's config entry and its key path; an empty path: implied by the plan file. */
type AppEntry = [AppConfig, PropertyKey[]];

const at = (...p: PropertyKey[]) => keyPath(NAMESPACE, p);
const unknownNode = (nodes: Nodes, n: string) => `node "${n}" is not defined in matrix:nodes (known: ${nodes.list.map((h) => h.name).join(", ") || "none"})`;

export function buildModel(raw: RawConfig, env: ConfigEnv): Model {
    const problems = new Problems();
    const cfg = checkShape(raw, problems);
    const c: Check = { cfg, env, problems };
    // A domain that failed its shape check is reported; the default stands in to find other problems.
    const domain = cfg.domain ?? schemas.domain.parse(undefined);
    const net = checkNetwork(c);
    const hosts = checkHosts(c, net, domain);
    checkLabPorts(c, hosts.length);
    const nodes: Nodes = { list: hosts.filter((h) => h.role === "node"), known: cfg.nodes !== undefined };
    checkServices(c);
    const plan = readPlan(c, nodes);
    const { entries, origin } = collectApplications(c, plan);
    const { apps, portRequests } = checkApplications(c, entries, origin, plan, nodes, hosts, domain);
    const replicas = assignHostPorts(c, portRequests);
    problems.throwIfAny();
    return assemble(cfg, { domain, net, hosts, nodes: nodes.list, apps, replicas });
}

/** Shape, key by key, so one bad key does not hide problems in the others. */
function checkShape(raw: RawConfig, problems: Problems): Partial<ParsedConfig> {
    const cfg: Partial<ParsedConfig> = {};
    for (const key of CONFIG_KEYS) {
        const result = (schemas[key] as z.ZodType).safeParse(raw[key]);
        if (result.success) (cfg as Record<string, unknown>)[key] = result.data;
        else for (const issue of result.error.issues) reportIssue(raw, key, issue, problems);
    }
    return cfg;
}

function reportIssue(raw: RawConfig, key: string, issue: z.core.$ZodIssue, problems: Problems) {
    const report = (where: string, message: string) => problems.report(where, message);
    if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) report(at(key, ...issue.path, k), "unknown key; remove it or fix its spelling (see README, Configuration)");
    } else if (issue.path.length === 0 && raw[key as keyof RawConfig] === undefined) {
        report(at(key), REQUIRED_HINT[key] ?? "is required");
    } else if (!issue.message.startsWith("Invalid")) {
        report(at(key, ...issue.path), issue.message); // our own message, with its fix
    } else if (issue.code === "invalid_type") {
        report(at(key, ...issue.path), `must be ${issue.expected === "undefined" ? "absent" : `a${/^[aeiou]/.test(issue.expected) ? "n" : ""} ${issue.expected}`}`);
    } else if (issue.code === "invalid_value" && "values" in issue) {
        report(at(key, ...issue.path), `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`);
    } else {
        report(at(key, ...issue.path), issue.message.replace(/^Invalid input: /, "").replace(/^Invalid /, "invalid "));
    }
}

function checkNetwork({ cfg, problems }: Check): NetworkFacts {
    let range: ReturnType<typeof cidrRange> | undefined;
    let gateway = "";
    const inNet = (ip: string) => !!range && toInt(ip) > range.network && toInt(ip) < range.broadcast;
    if (cfg.network) {
        range = cidrRange(cfg.network.cidr);
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
    const { cfg, problems } = c;
    const hostConfigs: [HostConfig, PropertyKey[]][] = [];
    if (cfg.manager) hostConfigs.push([cfg.manager, ["manager"]]);
    (cfg.nodes ?? []).forEach((n, i) => hostConfigs.push([n, ["nodes", i]]));
    const names = new Map<string, string>();
    const addresses = new Map<string, string>();
    return hostConfigs.map(([h, p], i) => {
        const where = at(...p);
        if (names.has(h.name)) problems.report(at(...p, "name"), `"${h.name}" is already used by ${names.get(h.name)}; host names must be unique`);
        names.set(h.name, where);
        if (addresses.has(h.address)) problems.report(at(...p, "address"), `${h.address} is already used by ${addresses.get(h.address)}`);
        addresses.set(h.address, where);
        if (net.range && !net.inNet(h.address)) problems.report(at(...p, "address"), `${h.address} is not a host address inside ${cfg.network!.cidr}`);
        if (net.range && h.address === net.gateway) problems.report(at(...p, "address"), `${h.address} is the network gateway; pick another address or set matrix:network.gateway`);
        const dhcp = cfg.network?.dhcp;
        if (dhcp && toInt(h.address) >= toInt(dhcp.start) && toInt(h.address) <= toInt(dhcp.end))
            problems.report(at(...p, "address"), `${h.address} is inside the DHCP range ${dhcp.start}-${dhcp.end}; static addresses must be outside it`);
        const ssh = sshConnection(c, h, p, i);
        const role = i === 0 && cfg.manager ? "manager" : "node";
        if (role === "manager" && h.drain) problems.report(at(...p, "drain"), "applies to nodes only (the manager runs no replicas); remove it");
        return { name: h.name, role, address: h.address, fqdn: `${h.name}.${domain}`, ssh, groups: h.groups, labels: h.labels, drain: h.drain };
    });
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
    if (!privateKey) problems.report(at("ssh", "privateKey"), 'is required in ssh mode: {path: "~/.ssh/id_ed25519"} or {secret: "sshPrivateKey"} (or per host under <host>.ssh.privateKey)');
    if (privateKey && "path" in privateKey && !env.isFile(expandHome(privateKey.path)))
        problems.report(h.ssh?.privateKey ? at(...p, "ssh", "privateKey", "path") : at("ssh", "privateKey", "path"), `${privateKey.path} does not exist on this machine`);
    if (privateKey && "secret" in privateKey) checkSecret(c, privateKey, h.ssh?.privateKey ? at(...p, "ssh", "privateKey") : at("ssh", "privateKey"));
    const key = privateKey && "path" in privateKey ? { path: expandHome(privateKey.path) } : privateKey;
    return { host: h.ssh?.host ?? h.address, port: h.ssh?.port ?? sshDefaults.port ?? 22, user: h.ssh?.user ?? sshDefaults.user ?? "root", privateKey: key, hostKey: h.ssh?.hostKey };
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

/** The manager's services and the host port range. */
function checkServices(c: Check) {
    const { cfg, problems } = c;
    if (cfg.ssh?.hostKey) problems.report(at("ssh", "hostKey"), "identifies one host: set it per host under <host>.ssh.hostKey (unset: pinned on first contact)");
    if (cfg.manager && cfg.router && cfg.registry && cfg.router.port === cfg.registry.port) problems.report(at("registry", "port"), "must differ from matrix:router.port (both listen on the manager)");
    if (cfg.router && cfg.router.adminPort === cfg.router.port) problems.report(at("router", "adminPort"), "must differ from matrix:router.port");
    if (cfg.registry?.auth) checkSecret(c, cfg.registry.auth.password, at("registry", "auth", "password"));
    if (cfg.hostPorts && cfg.hostPorts.start > cfg.hostPorts.end) problems.report(at("hostPorts"), `start ${cfg.hostPorts.start} is after end ${cfg.hostPorts.end}`);
}

function checkSecret({ env, problems }: Check, ref: SecretRef, where: string) {
    if (!env.secretExists(ref.secret)) problems.report(where, `secret config key "${ref.secret}" is not set; run: pulumi config set --secret ${ref.secret} <value>`);
}

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
    const entries: AppEntry[] = (cfg.applications ?? []).map((a, i) => [a, ["applications", i]]);
    const origin = new Map<string, string>();
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
    for (const h of hosts) claims.reservedNames.set(h.fqdn, `host "${h.name}"`);
    const apps: Omit<Application, "replicas">[] = [];
    const placements: { app: string; where: string; placement: AppPlacement }[] = [];
    for (const [a, p] of entries) {
        if (p.length && origin.get(a.name) !== at(...p)) continue; // a duplicate, reported above
        const fromPlan = p.length === 0;
        const where = fromPlan ? origin.get(a.name)! : at(...p);
        const app: AppCheck = { a, where, w: (...k) => (fromPlan ? where : at(...p, ...k)), lines: plan.lines.filter((l) => l.app === a.name) };
        const source = appSource(c, app);
        placements.push({ app: a.name, where, placement: appPlacement(c, app, plan, nodes) });
        const containerPort = appPort(c, app, plan);
        const env = appEnv(c, app);
        const { memory, memoryReservation } = appResources(c, app);
        const route = appRoute(c, app, claims, domain);
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
function appPlacement({ problems }: Check, { a, where, w, lines }: AppCheck, plan: Plan, nodes: Nodes): AppPlacement {
    const configPlacement = a.nodes !== undefined || a.replicas !== undefined;
    const placed: PortRequest["nodes"] = [];
    if (lines.length && configPlacement) problems.report(w("nodes"), `is also placed by ${plan.name} (lines ${lines.map((l) => l.line).join(", ")}); use one or the other`);
    else if (lines.length) {
        if (a.hostPort !== undefined) problems.report(w("hostPort"), `is set by ${plan.name}; remove it here`);
        for (const l of lines)
            if (nodes.list.find((n) => n.name === l.node)?.drain) problems.report(`${plan.name}:${l.line}`, drained(l.node, "move this line to another node"));
        // An unknown node is reported by readPlan; its empty address is never used.
        return { fixed: lines.map((l) => ({ node: l.node, address: nodes.list.find((n) => n.name === l.node)?.address ?? "", hostPort: l.hostPort })) };
    } else if (a.nodes !== undefined && a.replicas !== undefined) problems.report(where, 'set either "nodes" (explicit) or "replicas" (spread), not both');
    else if (a.nodes) {
        if (a.selector) problems.report(w("selector"), 'only applies with "replicas"; remove it or use replicas');
        a.nodes.forEach((n, i) => {
            if (!nodes.known) return;
            const node = nodes.list.find((h) => h.name === n);
            if (!node) problems.report(w("nodes", i), unknownNode(nodes, n));
            else if (a.nodes!.indexOf(n) !== i) problems.report(w("nodes", i), `node "${n}" is listed twice; one replica per node`);
            else if (node.drain) problems.report(w("nodes", i), drained(n, "list another node, or use replicas to let placement choose"));
            else placed.push({ node: n, address: node.address, hostPort: a.hostPort });
        });
    } else if (a.replicas !== undefined) {
        const eligible = eligibleNodes(nodes.list.filter((n) => !n.drain), a.selector);
        if (!nodes.known) {
            /* reported under matrix:nodes */
        } else if (a.replicas > eligible.length)
            problems.report(w("replicas"), `must be ≤ number of eligible nodes (${eligible.length})${a.selector ? " matching the selector" : ""}${nodes.list.some((n) => n.drain) ? ", drained nodes excluded" : ""}; lower it or add nodes`);
        else return { eligible, count: a.replicas, hostPort: a.hostPort };
    } else problems.report(where, `is not placed: set "nodes", "replicas", or add lines to the plan file`);
    return { fixed: placed };
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
function appResources({ problems }: Check, { a, w }: AppCheck): { memory?: number; memoryReservation?: number } {
    const memory = parseSize(a.memory);
    const memoryReservation = parseSize(a.memoryReservation);
    if (memory !== undefined && memory < 6) problems.report(w("memory"), "must be at least 6 MiB (Docker's minimum)");
    if (memory !== undefined && memoryReservation !== undefined && memoryReservation > memory)
        problems.report(w("memoryReservation"), `(${memoryReservation} MiB) must be ≤ memory (${memory} MiB): the soft limit sits below the hard one`);
    return { memory, memoryReservation };
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
        deployTimeoutSeconds: Math.ceil(ms(deployTimeout as ms.StringValue) / 1000),
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

/** The model, from a config known valid: every check above passed. */
function assemble(
    cfg: Partial<ParsedConfig>,
    facts: { domain: string; net: NetworkFacts; hosts: Host[]; nodes: Host[]; apps: Omit<Application, "replicas">[]; replicas: Map<string, Replica[]> },
): Model {
    const { domain, net, nodes, apps, replicas } = facts;
    const network = cfg.network!;
    const manager = facts.hosts[0];
    const lab = cfg.mode === "lab" ? cfg.lab! : undefined;
    const registryPort = cfg.registry!.port;
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
        router: cfg.router!,
        lab,
        hostPorts: cfg.hostPorts!,
        baseImage: cfg.baseImage!,
        applications: apps.map((a) => ({ ...a, replicas: replicas.get(a.name) ?? [] })),
    };
}
