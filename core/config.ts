// Stack config -> validated Model. Every problem is collected and reported at once, each
// naming its key path (or plan-file line) and the fix, before any resource is registered.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { directoryHash } from "./hash";
import { Application, EnvValue, Host, Model, SecretRef, SshConnection } from "./model";
import { eligibleNodes, PortRequest, assignPorts, spread } from "./placement";
import { parsePlan, PlanLine } from "./planfile";
import { ConfigError, keyPath, Problem } from "./problems";
import { AppConfig, CONFIG_KEYS, HostConfig, ParsedConfig, RawConfig, schemas } from "./schema";

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
}

export function nodeEnv(projectDir: string, secretExists: (key: string) => boolean): ConfigEnv {
    return {
        projectDir,
        secretExists,
        readFile: (f) => (fs.existsSync(f) && fs.statSync(f).isFile() ? fs.readFileSync(f, "utf8") : undefined),
        isFile: (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
        hashDir: directoryHash,
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

export function buildModel(raw: RawConfig, env: ConfigEnv): Model {
    const problems: Problem[] = [];
    const at = (...p: PropertyKey[]) => keyPath(NAMESPACE, p);
    const report = (where: string, message: string) => {
        if (!problems.some((p) => p.where === where && p.message === message)) problems.push({ where, message });
    };

    // 1. Shape, key by key, so one bad key does not hide problems in the others.
    const cfg: Partial<ParsedConfig> = {};
    for (const key of CONFIG_KEYS) {
        const result = (schemas[key] as z.ZodType).safeParse(raw[key]);
        if (result.success) (cfg as Record<string, unknown>)[key] = result.data;
        else for (const issue of result.error.issues) reportIssue(key, issue);
    }
    function reportIssue(key: string, issue: z.core.$ZodIssue) {
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

    // A key that failed its shape check is skipped below, so its problem is not reported twice.
    const mode = cfg.mode;
    const domain = cfg.domain ?? "matrix";

    // 2. Network.
    let range: ReturnType<typeof cidrRange> | undefined;
    let gateway = "";
    const inNet = (ip: string) => !!range && toInt(ip) > range.network && toInt(ip) < range.broadcast;
    if (cfg.network) {
        range = cidrRange(cfg.network.cidr);
        if (range.bits > 30) report(at("network", "cidr"), "must be /30 or larger to hold a manager and a node");
        gateway = cfg.network.gateway ?? toIp(range.broadcast - 1);
        if (!inNet(gateway)) report(at("network", "gateway"), `must be inside ${cfg.network.cidr}`);
        const dhcp = cfg.network.dhcp;
        if (dhcp) {
            if (mode === "lab") report(at("network", "dhcp"), "DHCP is not used in lab mode (Docker assigns the lab hosts' addresses); remove it");
            for (const k of ["start", "end"] as const) if (!inNet(dhcp[k])) report(at("network", "dhcp", k), `must be inside ${cfg.network.cidr}`);
            if (toInt(dhcp.start) > toInt(dhcp.end)) report(at("network", "dhcp"), `start ${dhcp.start} is after end ${dhcp.end}; swap them`);
        }
    }

    // 3. Hosts.
    const sshDefaults = cfg.ssh ?? {};
    const hostConfigs: [HostConfig, PropertyKey[]][] = [];
    if (cfg.manager) hostConfigs.push([cfg.manager, ["manager"]]);
    (cfg.nodes ?? []).forEach((n, i) => hostConfigs.push([n, ["nodes", i]]));
    const names = new Map<string, string>();
    const addresses = new Map<string, string>();
    const hosts: Host[] = hostConfigs.map(([h, p], i) => {
        const where = at(...p);
        if (names.has(h.name)) report(at(...p, "name"), `"${h.name}" is already used by ${names.get(h.name)}; host names must be unique`);
        names.set(h.name, where);
        if (addresses.has(h.address)) report(at(...p, "address"), `${h.address} is already used by ${addresses.get(h.address)}`);
        addresses.set(h.address, where);
        if (range && !inNet(h.address)) report(at(...p, "address"), `${h.address} is not a host address inside ${cfg.network!.cidr}`);
        if (range && h.address === gateway) report(at(...p, "address"), `${h.address} is the network gateway; pick another address or set matrix:network.gateway`);
        const dhcp = cfg.network?.dhcp;
        if (dhcp && toInt(h.address) >= toInt(dhcp.start) && toInt(h.address) <= toInt(dhcp.end))
            report(at(...p, "address"), `${h.address} is inside the DHCP range ${dhcp.start}-${dhcp.end}; static addresses must be outside it`);
        let ssh: SshConnection = { host: h.address, port: 22, user: "root" }; // placeholder when mode is invalid
        if (mode === "lab") {
            if (h.ssh) report(at(...p, "ssh"), "is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it");
            ssh = { host: "127.0.0.1", port: (cfg.lab?.sshPortBase ?? 2221) + i, user: "root" };
        } else if (mode === "ssh") {
            const privateKey = h.ssh?.privateKey ?? sshDefaults.privateKey;
            if (!privateKey) report(at("ssh", "privateKey"), 'is required in ssh mode: {path: "~/.ssh/id_ed25519"} or {secret: "sshPrivateKey"} (or per host under <host>.ssh.privateKey)');
            if (privateKey && "path" in privateKey && !env.isFile(expandHome(privateKey.path)))
                report(h.ssh?.privateKey ? at(...p, "ssh", "privateKey", "path") : at("ssh", "privateKey", "path"), `${privateKey.path} does not exist on this machine`);
            if (privateKey && "secret" in privateKey) checkSecret(privateKey, h.ssh?.privateKey ? at(...p, "ssh", "privateKey") : at("ssh", "privateKey"));
            const key = privateKey && "path" in privateKey ? { path: expandHome(privateKey.path) } : privateKey;
            ssh = { host: h.ssh?.host ?? h.address, port: h.ssh?.port ?? sshDefaults.port ?? 22, user: h.ssh?.user ?? sshDefaults.user ?? "root", privateKey: key };
        }
        return { name: h.name, role: i === 0 && cfg.manager ? "manager" : "node", address: h.address, fqdn: `${h.name}.${domain}`, ssh, groups: h.groups, labels: h.labels };
    });
    if (mode === "lab" && cfg.lab) {
        const last = cfg.lab.sshPortBase + hosts.length - 1;
        if (last > 65535) report(at("lab", "sshPortBase"), `with ${hosts.length} hosts the SSH ports would end at ${last}; lower it`);
        for (const k of ["routerPort", "registryPort"] as const)
            if (cfg.lab[k] >= cfg.lab.sshPortBase && cfg.lab[k] <= last) report(at("lab", k), `${cfg.lab[k]} collides with the lab SSH ports ${cfg.lab.sshPortBase}-${last}`);
        if (cfg.lab.routerPort === cfg.lab.registryPort) report(at("lab", "registryPort"), "must differ from matrix:lab.routerPort");
    }
    const manager = cfg.manager ? hosts[0] : undefined;
    const nodes = hosts.filter((h) => h.role === "node");
    const nodesKnown = cfg.nodes !== undefined;
    const unknownNode = (n: string) => `node "${n}" is not defined in matrix:nodes (known: ${nodes.map((h) => h.name).join(", ") || "none"})`;
    if (manager && cfg.router && cfg.registry && cfg.router.port === cfg.registry.port) report(at("registry", "port"), "must differ from matrix:router.port (both listen on the manager)");
    if (cfg.router && cfg.router.adminPort === cfg.router.port) report(at("router", "adminPort"), "must differ from matrix:router.port");
    if (cfg.registry?.auth) checkSecret(cfg.registry.auth.password, at("registry", "auth", "password"));
    if (cfg.hostPorts && cfg.hostPorts.start > cfg.hostPorts.end) report(at("hostPorts"), `start ${cfg.hostPorts.start} is after end ${cfg.hostPorts.end}`);

    function checkSecret(ref: SecretRef, where: string) {
        if (!env.secretExists(ref.secret)) report(where, `secret config key "${ref.secret}" is not set; run: pulumi config set --secret ${ref.secret} <value>`);
    }

    // 4. Plan file.
    let plan: PlanLine[] = [];
    let planName = "";
    if (cfg.planFile) {
        const file = path.resolve(env.projectDir, cfg.planFile);
        planName = cfg.planFile;
        const text = env.readFile(file);
        if (text === undefined) report(at("planFile"), `file ${file} does not exist; create it or remove the key`);
        else {
            const parsed = parsePlan(text, planName);
            parsed.problems.forEach((p) => report(p.where, p.message));
            plan = parsed.lines;
            for (const l of plan)
                if (nodesKnown && !nodes.some((n) => n.name === l.node))
                    report(`${planName}:${l.line}`, unknownNode(l.node));
        }
    }

    // 5. Applications: config entries, plus plan-file apps that have none (seed convention: build apps/<name>).
    const appConfigs: [AppConfig, PropertyKey[]][] = (cfg.applications ?? []).map((a, i) => [a, ["applications", i]]);
    const seenApps = new Map<string, string>();
    for (const [a, p] of appConfigs) {
        if (seenApps.has(a.name)) report(at(...p, "name"), `"${a.name}" is already defined at ${seenApps.get(a.name)}`);
        seenApps.set(a.name, at(...p));
    }
    for (const l of plan)
        if (!seenApps.has(l.app)) {
            seenApps.set(l.app, `${planName}:${l.line}`);
            appConfigs.push([schemas.applications.parse([{ name: l.app, build: `apps/${l.app}` }])[0], []]);
        }

    const portRequests: PortRequest[] = [];
    const routes = new Map<string, string>();
    // Names dnsmasq already answers for the hosts; an app hostname must not shadow them.
    const reservedNames = new Map<string, string>([[`registry.${domain}`, "the registry"]]);
    for (const h of hosts) reservedNames.set(h.fqdn, `host "${h.name}"`);
    const apps: Omit<Application, "replicas">[] = [];
    for (const [a, p] of appConfigs) {
        if (p.length && seenApps.get(a.name) !== at(...p)) continue; // a duplicate, reported above
        const fromPlan = p.length === 0;
        const where = fromPlan ? seenApps.get(a.name)! : at(...p);
        const w = (...k: PropertyKey[]) => (fromPlan ? where : at(...p, ...k));
        const lines = plan.filter((l) => l.app === a.name);

        // Source.
        let source: Application["source"] | undefined;
        if (!!a.build === !!a.image) report(where, 'needs exactly one of "build" (a directory with a Dockerfile) or "image" (an image reference)');
        else if (a.image) source = { kind: "image", ref: a.image };
        else {
            const b = typeof a.build === "string" ? { context: a.build, dockerfile: "Dockerfile", args: {} } : a.build!;
            const dir = path.resolve(env.projectDir, b.context);
            const dockerfile = path.resolve(dir, b.dockerfile);
            if (!env.isFile(dockerfile)) report(w("build"), `${dockerfile} does not exist; the build context must contain a Dockerfile`);
            else source = { kind: "build", dir, dockerfile: b.dockerfile, args: b.args, hash: env.hashDir(dir) };
        }

        // Placement.
        let placed: { node: string; hostPort?: number }[] = [];
        const configPlacement = a.nodes !== undefined || a.replicas !== undefined;
        if (lines.length && configPlacement) report(w("nodes"), `is also placed by ${planName} (lines ${lines.map((l) => l.line).join(", ")}); use one or the other`);
        else if (lines.length) {
            placed = lines.map((l) => ({ node: l.node, hostPort: l.hostPort }));
            if (a.hostPort !== undefined) report(w("hostPort"), `is set by ${planName}; remove it here`);
        } else if (a.nodes !== undefined && a.replicas !== undefined) report(where, 'set either "nodes" (explicit) or "replicas" (spread), not both');
        else if (a.nodes) {
            if (a.selector) report(w("selector"), 'only applies with "replicas"; remove it or use replicas');
            a.nodes.forEach((n, i) => {
                if (!nodesKnown) return;
                if (!nodes.some((h) => h.name === n)) report(w("nodes", i), unknownNode(n));
                else if (a.nodes!.indexOf(n) !== i) report(w("nodes", i), `node "${n}" is listed twice; one replica per node`);
                else placed.push({ node: n, hostPort: a.hostPort });
            });
        } else if (a.replicas !== undefined) {
            const eligible = eligibleNodes(nodes, a.selector);
            if (!nodesKnown) {
                /* reported under matrix:nodes */
            } else if (a.replicas > eligible.length)
                report(w("replicas"), `must be ≤ number of eligible nodes (${eligible.length})${a.selector ? " matching the selector" : ""}; lower it or add nodes`);
            else placed = spread(a.name, eligible, a.replicas).map((n) => ({ node: n.name, hostPort: a.hostPort }));
        } else report(where, `is not placed: set "nodes", "replicas", or add lines to the plan file`);

        // Ports.
        const planPorts = [...new Set(lines.map((l) => l.containerPort))];
        if (planPorts.length > 1) report(`${planName}:${lines[1].line}`, `internal_port differs between lines for app "${a.name}" (${planPorts.join(", ")}); an app listens on one port`);
        if (a.port !== undefined && planPorts.length && planPorts[0] !== a.port) report(w("port"), `is ${a.port} but ${planName} says ${planPorts[0]}`);
        const containerPort = a.port ?? planPorts[0];
        if (containerPort === undefined) report(w("port"), "is required: the port the app listens on inside its container");
        if (placed.length) portRequests.push({ app: a.name, where, nodes: placed });

        // Env.
        const envs: EnvValue[] = Object.entries(a.env).map(([k, v]) => {
            if (typeof v === "string") return { name: k, value: v };
            checkSecret(v, w("env", k));
            return { name: k, secret: v.secret };
        });

        // Resources.
        const memory = parseSize(a.memory);
        const memoryReservation = parseSize(a.memoryReservation);
        if (memory !== undefined && memory < 6) report(w("memory"), "must be at least 6 MiB (Docker's minimum)");
        if (memory !== undefined && memoryReservation !== undefined && memoryReservation > memory)
            report(w("memoryReservation"), `(${memoryReservation} MiB) must be ≤ memory (${memory} MiB): the soft limit sits below the hard one`);

        // Route.
        // A route is (hostname or any host, path prefix): apps may share a virtual host.
        const routePath = a.route.path ?? `/${a.name}/`;
        const hostname = a.route.hostname === true ? `${a.name}.${domain}` : a.route.hostname;
        const routeKey = `${hostname ?? ""} ${routePath}`;
        if (routes.has(routeKey)) report(w("route", "path"), `"${routePath}"${hostname ? ` on ${hostname}` : ""} is already routed to ${routes.get(routeKey)}`);
        routes.set(routeKey, `app "${a.name}"`);
        const owner = hostname && reservedNames.get(hostname);
        if (owner) report(w("route", "hostname"), `"${hostname}" is the DNS name of ${owner}; choose another hostname`);

        apps.push({
            name: a.name,
            source: source!,
            containerPort: containerPort ?? 0,
            env: envs,
            cpus: a.cpus,
            cpuset: a.cpuset,
            memory,
            memoryReservation,
            restart: a.restart,
            route: { path: routePath, hostname, stripPrefix: a.route.stripPrefix },
            health: { path: a.health.path ?? (a.route.stripPrefix ? "/" : routePath), expectStatus: a.health.expectStatus },
            director: a.director,
            placedBy: lines.length ? "plan" : "config",
        });
    }
    // A reversed range is reported above; place with the default meanwhile to find other problems.
    const hostPorts = cfg.hostPorts && cfg.hostPorts.start <= cfg.hostPorts.end ? cfg.hostPorts : schemas.hostPorts.parse(undefined)!;
    const { replicas, problems: portProblems } = assignPorts(portRequests, hostPorts);
    portProblems.forEach((p) => report(p.where, p.message));

    if (problems.length) throw new ConfigError(problems);

    // Everything below is known valid.
    const network = cfg.network!;
    const lab = mode === "lab" ? cfg.lab! : undefined;
    const registryPort = cfg.registry!.port;
    return {
        cloudName: cfg.cloudName!,
        mode: mode!,
        domain,
        network: { cidr: network.cidr, netmask: range!.netmask, gateway, dhcp: network.dhcp, upstreamDns: network.upstreamDns },
        manager: manager!,
        nodes,
        registry: {
            port: registryPort,
            address: `${manager!.fqdn}:${registryPort}`,
            pushAddress: lab ? `127.0.0.1:${lab.registryPort}` : (cfg.registry!.pushAddress ?? `${manager!.address}:${registryPort}`),
            auth: cfg.registry!.auth,
        },
        router: cfg.router!,
        lab,
        baseImage: cfg.baseImage!,
        applications: apps.map((a) => ({ ...a, replicas: replicas.get(a.name) ?? [] })),
    };
}
