// Docker resources of @pulumi/docker 5.x (the Terraform-bridged kreuzwerker provider plus
// the native Image resource), applied through the Docker Engine API (containers, networks,
// volumes, images) and the docker CLI (pull, build, push).
//
// Endpoints: unix:///path talks to that socket. ssh://user@host[:port][/socket] does what the
// provider does (docker's connection helper): for every API connection it runs
//   ssh <sshOpts> -o ConnectTimeout=30 -T -l user -p port -- host docker system dial-stdio
// behind a local unix socket, so the remote host needs the docker CLI, as with the real
// provider. `sshMode: "forward"` instead keeps one `ssh -nNT -L sock:/var/run/docker.sock`.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { ChildProcess, spawn } from "child_process";
import { StandinError, ExecResult, Spec, childEnv, exec, parseGoDuration, sleep } from "./util";
import type { CreateResult, Handler, HandlerContext, ResourceRequest, StateEntry } from "./types";

export const API = "/v1.41";

// ---------------------------------------------------------------------------------------------
// Provider configuration

export interface RegistryAuth {
    address: string;
    username?: string;
    password?: string;
}

export interface DockerProviderConfig {
    host: string;
    sshOpts: string[];
    registryAuth: RegistryAuth[];
    disableDockerDaemonCheck: boolean;
}

export const PROVIDER_SPEC: { [k: string]: Spec } = {
    host: "string",
    // The SDK sends these JSON-encoded (strings); parsed in parseProviderConfig.
    sshOpts: "any",
    registryAuth: "any",
    disableDockerDaemonCheck: "any",
    version: "string",
    // caMaterial, certMaterial, certPath, keyMaterial, context: not implemented
};

function parseMaybeJson(v: any): any {
    if (typeof v === "string") {
        try { return JSON.parse(v); } catch { return v; }
    }
    return v;
}

/** Provider inputs (or `docker:*` stack config) → configuration; throws on unsupported parts. */
export function parseProviderConfig(inputs: any, where: string): DockerProviderConfig {
    const host: string = inputs.host || process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
    const sshOpts = parseMaybeJson(inputs.sshOpts) ?? [];
    if (!Array.isArray(sshOpts) || sshOpts.some((x) => typeof x !== "string")) {
        throw new StandinError(`${where}: sshOpts must be a list of strings`);
    }
    const auths = parseMaybeJson(inputs.registryAuth) ?? [];
    if (!Array.isArray(auths)) throw new StandinError(`${where}: registryAuth must be a list`);
    const registryAuth: RegistryAuth[] = auths.map((a: any, i: number) => {
        for (const k of Object.keys(a ?? {})) {
            if (!["address", "username", "password", "authDisabled"].includes(k) && a[k] !== undefined && a[k] !== null && a[k] !== "") {
                throw new StandinError(`${where}: input "registryAuth[${i}].${k}" is not implemented by the stand-in docker plugin`);
            }
        }
        if (a.authDisabled) throw new StandinError(`${where}: input "registryAuth[${i}].authDisabled" is not implemented by the stand-in docker plugin`);
        if (!a.address) throw new StandinError(`${where}: registryAuth[${i}].address is required`);
        return { address: a.address, username: a.username, password: a.password };
    });
    const dis = parseMaybeJson(inputs.disableDockerDaemonCheck);
    if (!/^(unix|ssh):\/\//.test(host)) {
        throw new StandinError(`${where}: docker host "${host}" is not implemented by the stand-in docker plugin (unix:// and ssh:// only)`);
    }
    return { host, sshOpts, registryAuth, disableDockerDaemonCheck: dis === true };
}

export interface SshTarget {
    user?: string;
    host: string;
    port?: string;
    /** Remote socket path, when the URL has one. */
    socket?: string;
}

export function parseSshHost(host: string): SshTarget {
    const u = new URL(host);
    if (u.protocol !== "ssh:") throw new StandinError(`not an ssh:// host: ${host}`);
    const p = decodeURIComponent(u.pathname || "");
    return {
        user: u.username ? decodeURIComponent(u.username) : undefined,
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port || undefined,
        socket: p.replace(/^\/+$/, "") ? p : undefined,
    };
}

/** ssh argv for docker's connection helper (docker/cli connhelper + ssh.Spec.Command). */
export function dialStdioArgs(t: SshTarget, sshOpts: string[]): string[] {
    const flags = [...sshOpts];
    if (!flags.join("").includes("ConnectTimeout")) flags.push("-o", "ConnectTimeout=30");
    // Never prompt (no tty in tests); user options come first and win (ssh keeps the first value).
    flags.push("-o", "BatchMode=yes");
    if (!flags.includes("-T")) flags.push("-T");
    const args = ["ssh", ...flags];
    if (t.user) args.push("-l", t.user);
    if (t.port) args.push("-p", t.port);
    args.push("--", t.host);
    if (t.socket) args.push("docker", `--host=unix://${t.socket}`, "system", "dial-stdio");
    else args.push("docker", "system", "dial-stdio");
    return args;
}

/** ssh argv for the forward mode: one connection forwarding a local socket to the remote docker socket. */
export function forwardArgs(t: SshTarget, sshOpts: string[], localSocket: string): string[] {
    const args = ["ssh", ...sshOpts, "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes"];
    if (t.port) args.push("-p", t.port);
    args.push("-nNT", "-L", `${localSocket}:${t.socket ?? "/var/run/docker.sock"}`);
    args.push(t.user ? `${t.user}@${t.host}` : t.host);
    return args;
}

/** docker CLI config.json holding registry credentials (no network: like the provider, auth is used at pull/push). */
export function dockerConfigJson(auths: RegistryAuth[]): string {
    const out: any = { auths: {} };
    for (const a of auths) {
        if (a.username === undefined && a.password === undefined) continue;
        out.auths[a.address] = { auth: Buffer.from(`${a.username ?? ""}:${a.password ?? ""}`).toString("base64") };
    }
    return JSON.stringify(out, null, 2);
}

// ---------------------------------------------------------------------------------------------
// Endpoint

export interface ApiResult { status: number; body: any; text: string }

export class DockerEndpoint {
    readonly socketPath: string;
    readonly configDir: string;
    private server?: net.Server;
    private forwarder?: ChildProcess;
    private children = new Set<ChildProcess>();
    private lastSshError = "";
    private opened?: Promise<void>;
    /**
     * Keep-alive and bounded, like the provider's Go HTTP client: over ssh every new connection
     * is a new ssh session, and a burst of them trips sshd's MaxStartups (10 by default), which
     * drops connections ("socket hang up").
     */
    private agent = new http.Agent({ keepAlive: true, maxSockets: 6 });

    constructor(
        readonly key: string,
        readonly config: DockerProviderConfig,
        private readonly dir: string,
        private readonly log: (s: string) => void,
        readonly sshMode: "dial-stdio" | "forward" = "dial-stdio",
    ) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        this.configDir = path.join(dir, "config");
        fs.mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(this.configDir, "config.json"), dockerConfigJson(config.registryAuth), { mode: 0o600 });
        this.socketPath = config.host.startsWith("unix://") ? config.host.slice("unix://".length) : path.join(dir, "d.sock");
    }

    get isSsh() {
        return this.config.host.startsWith("ssh://");
    }

    /** Open (SSH) and wait until the daemon answers /_ping, bounded. */
    open(timeoutMs = 120_000): Promise<void> {
        if (!this.opened) this.opened = this.doOpen(timeoutMs);
        return this.opened;
    }

    private async doOpen(timeoutMs: number) {
        if (this.isSsh) {
            if (this.sshMode === "dial-stdio") this.startDialStdioProxy();
        }
        const started = Date.now();
        let attempts = 0;
        let lastErr = "";
        for (;;) {
            attempts++;
            if (this.isSsh && this.sshMode === "forward" && (!this.forwarder || this.forwarder.exitCode !== null)) {
                this.startForwarder();
                await sleep(300);
            }
            try {
                const r = await this.request("GET", "/_ping", undefined, 10_000);
                if (r.status === 200) break;
                lastErr = `HTTP ${r.status} ${r.text}`;
            } catch (e: any) {
                lastErr = e.message;
            }
            if (Date.now() - started > timeoutMs) {
                throw new StandinError(
                    `docker host ${this.config.host} did not answer within ${Math.round(timeoutMs / 1000)} s: ${lastErr}` +
                    (this.lastSshError ? `; ssh: ${this.lastSshError}` : ""),
                );
            }
            await sleep(Math.min(3000, 250 * attempts));
        }
        if (attempts > 1) {
            this.log(`  note: docker host ${this.config.host} answered after ${attempts} attempts ` +
                `(the real provider checks the daemon once when it is configured)`);
        }
    }

    private startDialStdioProxy() {
        if (this.server) return;
        const t = parseSshHost(this.config.host);
        const argv = dialStdioArgs(t, this.config.sshOpts);
        try { fs.unlinkSync(this.socketPath); } catch { /* none */ }
        this.server = net.createServer((sock) => {
            const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: childEnv() });
            this.children.add(child);
            let err = "";
            child.stderr!.on("data", (c) => { err += c.toString(); });
            sock.pipe(child.stdin!);
            child.stdout!.pipe(sock);
            child.stdin!.on("error", () => sock.destroy());
            sock.on("error", () => child.kill());
            sock.on("close", () => { if (child.exitCode === null) child.kill(); });
            child.on("exit", (code) => {
                this.children.delete(child);
                if (code !== 0 && err.trim()) this.lastSshError = err.trim().split("\n").slice(-2).join(" / ");
                sock.end();
            });
            child.on("error", (e) => { this.lastSshError = e.message; sock.destroy(); });
        });
        this.server.listen(this.socketPath);
        this.server.unref();
    }

    private startForwarder() {
        const t = parseSshHost(this.config.host);
        try { fs.unlinkSync(this.socketPath); } catch { /* none */ }
        const argv = forwardArgs(t, this.config.sshOpts, this.socketPath);
        const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: childEnv() });
        let err = "";
        child.stderr!.on("data", (c) => { err += c.toString(); });
        child.on("exit", () => { if (err.trim()) this.lastSshError = err.trim().split("\n").slice(-2).join(" / "); });
        child.on("error", (e) => { this.lastSshError = e.message; });
        child.unref();
        this.forwarder = child;
    }

    close() {
        this.agent.destroy();
        if (this.server) { this.server.close(); this.server = undefined; }
        for (const c of this.children) c.kill();
        this.children.clear();
        if (this.forwarder && this.forwarder.exitCode === null) this.forwarder.kill();
        this.forwarder = undefined;
        if (this.isSsh) { try { fs.unlinkSync(this.socketPath); } catch { /* gone */ } }
        this.opened = undefined;
    }

    request(method: string, p: string, body?: any, timeoutMs = 300_000): Promise<ApiResult> {
        return new Promise((resolve, reject) => {
            const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
            const req = http.request(
                {
                    socketPath: this.socketPath,
                    path: p,
                    method,
                    headers: {
                        Host: "docker",
                        ...(data ? { "Content-Type": "application/json", "Content-Length": String(data.length) } : {}),
                    },
                    agent: this.agent,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let parsed: any = undefined;
                        try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
                        resolve({ status: res.statusCode ?? 0, body: parsed, text });
                    });
                    res.on("error", reject);
                },
            );
            req.setTimeout(timeoutMs, () => req.destroy(new Error(`docker API ${method} ${p} timed out`)));
            req.on("error", reject);
            if (data) req.write(data);
            req.end();
        });
    }

    /** API call that throws with the daemon's message on an unexpected status. */
    async api(method: string, p: string, body?: any, ok: number[] = [200, 201, 204]): Promise<ApiResult> {
        await this.open();
        const r = await this.request(method, API + p, body);
        if (!ok.includes(r.status)) {
            const msg = r.body?.message ?? r.text;
            throw new DockerApiError(r.status, `docker ${method} ${p} on ${this.config.host}: ${r.status} ${String(msg).trim()}`);
        }
        return r;
    }

    /** Run the docker CLI against this endpoint with its private config dir. */
    async cli(args: string[], opts: { stdin?: string; cwd?: string; env?: Record<string, string>; onLine?: (s: "stdout" | "stderr", l: string) => void; configDir?: string } = {}): Promise<ExecResult> {
        await this.open();
        return exec(["docker", "--config", opts.configDir ?? this.configDir, "-H", `unix://${this.socketPath}`, ...args], {
            stdin: opts.stdin,
            cwd: opts.cwd,
            env: childEnv({ DOCKER_CONTEXT: undefined, DOCKER_HOST: undefined, ...(opts.env ?? {}) }),
            onLine: opts.onLine,
        });
    }
}

export class DockerApiError extends StandinError {
    constructor(readonly status: number, message: string) {
        super(message);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = encodeURIComponent;

/** Pulumi autonaming (name + "-" + 7 hex chars), used when a docker resource has no name. */
export function autoName(resourceName: string): string {
    return `${resourceName}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

function labelsToMap(labels: { label: string; value: string }[] | undefined): Record<string, string> | undefined {
    if (!labels || labels.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const l of labels) out[l.label] = l.value;
    return out;
}

/** For a refresh: the entry while the object exists, undefined once it is gone (removed by hand). */
async function exists(ep: DockerEndpoint, inspectPath: string, entry: StateEntry): Promise<StateEntry | undefined> {
    const r = await ep.api("GET", inspectPath, undefined, [200, 404]);
    return r.status === 404 ? undefined : entry;
}

/** Make sure `image` is present on the endpoint, pulling it (with the provider's credentials) if not. */
async function ensureImage(ep: DockerEndpoint, image: string, ctx: HandlerContext, platform?: string) {
    const r = await ep.api("GET", `/images/${enc(image)}/json`, undefined, [200, 404]);
    if (r.status === 200) return r.body;
    ctx.log(`  pulling ${image} on ${ep.config.host}`);
    const res = await ep.cli(["pull", ...(platform ? ["--platform", platform] : []), image]);
    if (res.code !== 0) {
        throw new StandinError(`cannot pull image ${image} on ${ep.config.host}: ${ctx.redactor.redact((res.stderr || res.stdout).trim())}`);
    }
    return (await ep.api("GET", `/images/${enc(image)}/json`)).body;
}

// ---------------------------------------------------------------------------------------------
// Network

export const NETWORK_SPEC: { [k: string]: Spec } = {
    name: "string",
    driver: "string",
    internal: "boolean",
    attachable: "boolean",
    ipv6: "boolean",
    ipamDriver: "string",
    ipamConfigs: [{ subnet: "string", gateway: "string", ipRange: "string", auxAddress: "map" }],
    options: "map",
    labels: [{ label: "string", value: "string" }],
};

export function networkCreateBody(inputs: any, name: string): any {
    const body: any = {
        Name: name,
        CheckDuplicate: true,
        Driver: inputs.driver ?? "bridge",
        Internal: inputs.internal ?? false,
        Attachable: inputs.attachable ?? false,
        EnableIPv6: inputs.ipv6 ?? false,
        Options: inputs.options ?? {},
        Labels: labelsToMap(inputs.labels) ?? {},
    };
    if (inputs.ipamConfigs || inputs.ipamDriver) {
        body.IPAM = {
            Driver: inputs.ipamDriver ?? "default",
            Config: (inputs.ipamConfigs ?? []).map((c: any) => ({
                ...(c.subnet ? { Subnet: c.subnet } : {}),
                ...(c.gateway ? { Gateway: c.gateway } : {}),
                ...(c.ipRange ? { IPRange: c.ipRange } : {}),
                ...(c.auxAddress ? { AuxiliaryAddresses: c.auxAddress } : {}),
            })),
        };
    }
    return body;
}

export const network: Handler = {
    spec: NETWORK_SPEC,
    deleteBeforeReplace: true,
    diff: () => "replace",
    async create(req, ctx) {
        const ep = await ctx.docker();
        const name = req.inputs.name ?? autoName(req.name);
        const r = await ep.api("POST", "/networks/create", networkCreateBody(req.inputs, name));
        const id = r.body.Id;
        const info = (await ep.api("GET", `/networks/${id}`)).body;
        return {
            id,
            outputs: {
                ...req.inputs,
                name,
                driver: info.Driver,
                scope: info.Scope,
                internal: info.Internal,
                ipamConfigs: (info.IPAM?.Config ?? []).map((c: any) => ({
                    subnet: c.Subnet, gateway: c.Gateway, ipRange: c.IPRange, auxAddress: c.AuxiliaryAddresses,
                })),
            },
        };
    },
    async read(entry, ctx) {
        return exists(await ctx.docker(), `/networks/${enc(entry.id)}`, entry);
    },
    async delete(entry, ctx) {
        const ep = await ctx.docker();
        // Like the provider, retry while containers are still being removed from the network.
        for (let i = 0; ; i++) {
            const r = await ep.api("DELETE", `/networks/${enc(entry.id)}`, undefined, [200, 204, 404, 403, 409, 500]);
            if ([200, 204, 404].includes(r.status)) return;
            if (i >= 20) throw new StandinError(`cannot delete network ${entry.outputs?.name ?? entry.id}: ${r.body?.message ?? r.text}`);
            await sleep(500);
        }
    },
};

// ---------------------------------------------------------------------------------------------
// Volume

export const VOLUME_SPEC: { [k: string]: Spec } = {
    name: "string",
    driver: "string",
    driverOpts: "map",
    labels: [{ label: "string", value: "string" }],
};

export const volume: Handler = {
    spec: VOLUME_SPEC,
    deleteBeforeReplace: true,
    diff: () => "replace",
    async create(req, ctx) {
        const ep = await ctx.docker();
        const name = req.inputs.name ?? autoName(req.name);
        const r = await ep.api("POST", "/volumes/create", {
            Name: name,
            Driver: req.inputs.driver ?? "local",
            DriverOpts: req.inputs.driverOpts ?? {},
            Labels: labelsToMap(req.inputs.labels) ?? {},
        });
        return {
            id: r.body.Name,
            outputs: { ...req.inputs, name: r.body.Name, driver: r.body.Driver, mountpoint: r.body.Mountpoint },
        };
    },
    async read(entry, ctx) {
        return exists(await ctx.docker(), `/volumes/${enc(entry.id)}`, entry);
    },
    async delete(entry, ctx) {
        const ep = await ctx.docker();
        for (let i = 0; ; i++) {
            const r = await ep.api("DELETE", `/volumes/${enc(entry.id)}`, undefined, [204, 404, 409]);
            if (r.status !== 409) return;
            if (i >= 60) throw new StandinError(`cannot delete volume ${entry.id}: ${r.body?.message ?? r.text}`);
            await sleep(500);
        }
    },
};

// ---------------------------------------------------------------------------------------------
// Container

export const CONTAINER_SPEC: { [k: string]: Spec } = {
    name: "string",
    image: "string",
    command: ["string"],
    entrypoints: ["string"],
    envs: ["string"],
    hostname: "string",
    domainname: "string",
    dns: ["string"],
    dnsOpts: ["string"],
    dnsSearches: ["string"],
    hosts: [{ host: "string", ip: "string" }],
    networkMode: "string",
    networksAdvanced: [{ name: "string", ipv4Address: "string", ipv6Address: "string", aliases: ["string"] }],
    ports: [{ internal: "number", external: "number", ip: "string", protocol: "string" }],
    publishAllPorts: "boolean",
    mounts: [{
        type: { oneOf: ["bind", "volume", "tmpfs"] },
        source: "string",
        target: "string",
        readOnly: "boolean",
        bindOptions: { propagation: "string" },
        volumeOptions: { noCopy: "boolean" },
        tmpfsOptions: { sizeBytes: "number", mode: "number" },
    }],
    volumes: [{ volumeName: "string", hostPath: "string", containerPath: "string", readOnly: "boolean", fromContainer: "string" }],
    tmpfs: "map",
    capabilities: { adds: ["string"], drops: ["string"] },
    privileged: "boolean",
    readOnly: "boolean",
    securityOpts: ["string"],
    deviceCgroupRules: ["string"],
    cgroupnsMode: "string",
    pidMode: "string",
    ipcMode: "string",
    usernsMode: "string",
    sysctls: "map",
    ulimits: [{ name: "string", soft: "number", hard: "number" }],
    groupAdds: ["string"],
    restart: { oneOf: ["no", "on-failure", "always", "unless-stopped"] },
    maxRetryCount: "number",
    memory: "number",
    memoryReservation: "number",
    memorySwap: "number",
    shmSize: "number",
    cpus: "string",
    cpuSet: "string",
    cpuShares: "number",
    cpuPeriod: "number",
    cpuQuota: "number",
    labels: [{ label: "string", value: "string" }],
    logDriver: "string",
    logOpts: "map",
    init: "boolean",
    user: "string",
    workingDir: "string",
    stopSignal: "string",
    stopTimeout: "number",
    tty: "boolean",
    stdinOpen: "boolean",
    healthcheck: { tests: ["string"], interval: "string", timeout: "string", startPeriod: "string", startInterval: "string", retries: "number" },
    destroyGraceSeconds: "number",
    mustRun: "boolean",
    start: "boolean",
    wait: "boolean",
    waitTimeout: "number",
    rm: { oneOf: [false] },
    attach: { oneOf: [false] },
    logs: { oneOf: [false] },
    removeVolumes: "boolean",
};

const MiB = 1024 * 1024;

/** Engine API body for POST /containers/create, as the provider builds it. */
export function containerCreateBody(inputs: any): any {
    const i = inputs;
    if (i.command && i.command.some((c: string) => c === "")) throw new StandinError("values for command may not be empty");
    const exposed: Record<string, {}> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of i.ports ?? []) {
        const key = `${p.internal}/${p.protocol ?? "tcp"}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external ? String(p.external) : "" });
    }
    const binds: string[] = [];
    const volumesFrom: string[] = [];
    const anon: Record<string, {}> = {};
    for (const v of i.volumes ?? []) {
        if (v.fromContainer) { volumesFrom.push(v.fromContainer); continue; }
        if (!v.containerPath) throw new StandinError("volumes: containerPath is required unless fromContainer is set");
        const ro = v.readOnly ? ":ro" : "";
        if (v.hostPath) binds.push(`${v.hostPath}:${v.containerPath}${ro}`);
        else if (v.volumeName) binds.push(`${v.volumeName}:${v.containerPath}${ro}`);
        else anon[v.containerPath] = {};
    }
    const mounts = (i.mounts ?? []).map((m: any) => {
        const out: any = { Type: m.type, Target: m.target, ReadOnly: m.readOnly ?? false };
        if (m.source !== undefined) out.Source = m.source;
        if (m.type === "bind" && m.bindOptions) out.BindOptions = { Propagation: m.bindOptions.propagation };
        if (m.type === "volume" && m.volumeOptions) out.VolumeOptions = { NoCopy: m.volumeOptions.noCopy ?? false };
        if (m.type === "tmpfs" && m.tmpfsOptions) {
            out.TmpfsOptions = {
                ...(m.tmpfsOptions.sizeBytes !== undefined ? { SizeBytes: m.tmpfsOptions.sizeBytes } : {}),
                ...(m.tmpfsOptions.mode !== undefined ? { Mode: m.tmpfsOptions.mode } : {}),
            };
        }
        return out;
    });
    let healthcheck: any = undefined;
    if (i.healthcheck) {
        const h = i.healthcheck;
        healthcheck = {
            Test: h.tests ?? [],
            ...(h.interval ? { Interval: parseGoDuration(h.interval) } : {}),
            ...(h.timeout ? { Timeout: parseGoDuration(h.timeout) } : {}),
            ...(h.startPeriod ? { StartPeriod: parseGoDuration(h.startPeriod) } : {}),
            ...(h.startInterval ? { StartInterval: parseGoDuration(h.startInterval) } : {}),
            ...(h.retries !== undefined ? { Retries: h.retries } : {}),
        };
    }
    const hostConfig: any = {
        Privileged: i.privileged ?? false,
        PublishAllPorts: i.publishAllPorts ?? false,
        RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: i.maxRetryCount ?? 0 },
        Mounts: mounts,
        AutoRemove: false,
        ReadonlyRootfs: i.readOnly ?? false,
        LogConfig: { Type: i.logDriver ?? "json-file", Config: i.logOpts ?? {} },
        NetworkMode: i.networkMode ?? "bridge",
        Init: i.init ?? false,
    };
    if (i.tmpfs) hostConfig.Tmpfs = i.tmpfs;
    if (Object.keys(bindings).length) hostConfig.PortBindings = bindings;
    if (i.hosts?.length) hostConfig.ExtraHosts = i.hosts.map((h: any) => `${h.host}:${h.ip}`);
    if (binds.length) hostConfig.Binds = binds;
    if (volumesFrom.length) hostConfig.VolumesFrom = volumesFrom;
    if (i.ulimits?.length) hostConfig.Ulimits = i.ulimits.map((u: any) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
    if (i.capabilities) {
        if (i.capabilities.adds?.length) hostConfig.CapAdd = i.capabilities.adds;
        if (i.capabilities.drops?.length) hostConfig.CapDrop = i.capabilities.drops;
    }
    if (i.dns?.length) hostConfig.Dns = i.dns;
    if (i.dnsOpts?.length) hostConfig.DnsOptions = i.dnsOpts;
    if (i.dnsSearches?.length) hostConfig.DnsSearch = i.dnsSearches;
    if (i.securityOpts?.length) hostConfig.SecurityOpt = i.securityOpts;
    if (i.deviceCgroupRules?.length) hostConfig.DeviceCgroupRules = i.deviceCgroupRules;
    if (i.cgroupnsMode) hostConfig.CgroupnsMode = i.cgroupnsMode;
    if (i.memory) hostConfig.Memory = i.memory * MiB;
    if (i.memoryReservation) hostConfig.MemoryReservation = i.memoryReservation * MiB;
    if (i.memorySwap) hostConfig.MemorySwap = i.memorySwap > 0 ? i.memorySwap * MiB : i.memorySwap;
    if (i.shmSize) hostConfig.ShmSize = i.shmSize * MiB;
    if (i.cpus) {
        const n = parseFloat(i.cpus);
        if (!isFinite(n) || n <= 0) throw new StandinError(`cpus "${i.cpus}" is not a positive number`);
        hostConfig.NanoCpus = Math.round(n * 1e9);
    }
    if (i.cpuShares) hostConfig.CpuShares = i.cpuShares;
    if (i.cpuSet) hostConfig.CpusetCpus = i.cpuSet;
    if (i.cpuPeriod) hostConfig.CpuPeriod = i.cpuPeriod;
    if (i.cpuQuota) hostConfig.CpuQuota = i.cpuQuota;
    if (i.usernsMode) hostConfig.UsernsMode = i.usernsMode;
    if (i.pidMode) hostConfig.PidMode = i.pidMode;
    if (i.ipcMode) hostConfig.IpcMode = i.ipcMode;
    if (i.sysctls) hostConfig.Sysctls = i.sysctls;
    if (i.groupAdds?.length) hostConfig.GroupAdd = i.groupAdds;

    const config: any = {
        Image: i.image,
        Hostname: i.hostname ?? "",
        Domainname: i.domainname ?? "",
        Tty: i.tty ?? false,
        OpenStdin: i.stdinOpen ?? false,
        HostConfig: hostConfig,
        NetworkingConfig: {},
    };
    if (i.envs?.length) config.Env = i.envs;
    if (i.command?.length) config.Cmd = i.command;
    if (i.entrypoints?.length) config.Entrypoint = i.entrypoints;
    if (i.user) config.User = i.user;
    if (Object.keys(exposed).length) config.ExposedPorts = exposed;
    if (i.workingDir) config.WorkingDir = i.workingDir;
    if (Object.keys(anon).length) config.Volumes = anon;
    const labels = labelsToMap(i.labels);
    if (labels) config.Labels = labels;
    if (healthcheck) config.Healthcheck = healthcheck;
    if (i.stopSignal) config.StopSignal = i.stopSignal;
    if (i.stopTimeout !== undefined) config.StopTimeout = i.stopTimeout;
    return config;
}

/** Fields the provider changes in place (docker update); the rest force a new container. */
const CONTAINER_UPDATABLE = new Set(["restart", "maxRetryCount", "cpuShares", "memory", "cpuSet", "memorySwap"]);
/** Fields that only change what the provider does at create/delete time. */
const CONTAINER_STATE_ONLY = new Set(["destroyGraceSeconds", "removeVolumes", "mustRun", "wait", "waitTimeout"]);

async function containerLogsTail(ep: DockerEndpoint, id: string, ctx: HandlerContext): Promise<string> {
    try {
        const r = await ep.cli(["logs", "--tail", "30", id]);
        return ctx.redactor.redact((r.stdout + r.stderr).trim());
    } catch {
        return "";
    }
}

export function networkDatas(info: any): any[] {
    const nets = info?.NetworkSettings?.Networks ?? {};
    return Object.entries(nets).map(([name, n]: [string, any]) => ({
        networkName: name,
        ipAddress: n.IPAddress,
        ipPrefixLength: n.IPPrefixLen,
        gateway: n.Gateway,
        macAddress: n.MacAddress,
        globalIpv6Address: n.GlobalIPv6Address,
        globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
        ipv6Gateway: n.IPv6Gateway,
    }));
}

/** Thrown when a step fails after something was created: the engine keeps it in state (init error). */
export class PartialCreateError extends StandinError {
    constructor(message: string, readonly partial: CreateResult) {
        super(message);
    }
}

export const container: Handler = {
    spec: CONTAINER_SPEC,
    deleteBeforeReplace: true,
    validate(req) {
        if (!req.inputs.image) throw new StandinError(`${req.type} "${req.name}": image is required`);
        if (req.inputs.wait && !req.inputs.healthcheck) {
            // The provider needs a healthcheck (from the image or the resource) to wait for.
        }
    },
    diff(changed) {
        return changed.every((k) => CONTAINER_UPDATABLE.has(k) || CONTAINER_STATE_ONLY.has(k)) ? "update" : "replace";
    },
    async create(req, ctx) {
        const ep = await ctx.docker();
        const i = req.inputs;
        const name = i.name ?? autoName(req.name);
        await ensureImage(ep, i.image, ctx);
        const created = await ep.api("POST", `/containers/create?name=${enc(name)}`, containerCreateBody(i));
        const id: string = created.body.Id;
        const partial = (msg: string, extra: any = {}) =>
            new PartialCreateError(`${req.type} "${req.name}": ${msg}`, { id, outputs: { ...i, name, ...extra } });
        try {
            if (i.networksAdvanced?.length) {
                const d = await ep.api("POST", `/networks/bridge/disconnect`, { Container: id, Force: false }, [200, 403, 404, 500]);
                if (d.status !== 200 && !/is not connected to the network|not connected/i.test(d.body?.message ?? "")) {
                    throw new StandinError(`Unable to disconnect the default network: ${d.body?.message ?? d.text}`);
                }
                for (const n of i.networksAdvanced) {
                    const endpoint: any = { IPAMConfig: {} };
                    if (n.aliases?.length) endpoint.Aliases = n.aliases;
                    if (n.ipv4Address) endpoint.IPAMConfig.IPv4Address = n.ipv4Address;
                    if (n.ipv6Address) endpoint.IPAMConfig.IPv6Address = n.ipv6Address;
                    await ep.api("POST", `/networks/${enc(n.name)}/connect`, { Container: id, EndpointConfig: endpoint });
                }
            }
            if (i.start !== false) {
                const startedAt = Date.now();
                await ep.api("POST", `/containers/${id}/start`, undefined, [204, 304]);
                const mustRun = i.mustRun !== false;
                // Like the provider: wait up to 15 s for "running"; a container that exited fails.
                for (;;) {
                    const info = (await ep.api("GET", `/containers/${id}/json`)).body;
                    if (info.State.Running || !mustRun) break;
                    const finished = Date.parse(info.State.FinishedAt);
                    if ((isFinite(finished) && finished >= startedAt - 1000) || Date.now() - startedAt > 15_000) {
                        const logs = await containerLogsTail(ep, id, ctx);
                        await ep.api("DELETE", `/containers/${id}?force=true&v=true`, undefined, [204, 404]);
                        throw new StandinError(
                            `${req.type} "${req.name}": container exited immediately (exit ${info.State.ExitCode})` +
                            (logs ? `; last log lines:\n${logs}` : ""),
                        );
                    }
                    await sleep(100);
                }
                if (i.wait) {
                    const limit = (i.waitTimeout ?? 60) * 1000;
                    for (;;) {
                        const info = (await ep.api("GET", `/containers/${id}/json`)).body;
                        const health = info.State.Health?.Status;
                        if (!info.Config.Healthcheck && !health) throw partial("wait is set but the container has no healthcheck");
                        if (health === "healthy") break;
                        if (Date.now() - startedAt > limit) {
                            const logs = await containerLogsTail(ep, id, ctx);
                            throw partial(`container did not become healthy within ${limit / 1000} s (status ${health})` + (logs ? `; last log lines:\n${logs}` : ""));
                        }
                        await sleep(500);
                    }
                }
            }
        } catch (e: any) {
            if (e instanceof PartialCreateError) throw e;
            if (/container exited immediately/.test(e.message)) throw e; // already removed, like the provider
            throw new PartialCreateError(e.message, { id, outputs: { ...i, name } });
        }
        const info = (await ep.api("GET", `/containers/${id}/json`)).body;
        return {
            id,
            outputs: {
                ...i,
                name: String(info.Name).replace(/^\//, ""),
                hostname: info.Config.Hostname,
                bridge: info.NetworkSettings?.Bridge ?? "",
                networkDatas: networkDatas(info),
                ...(info.State.Running ? {} : { exitCode: info.State.ExitCode }),
            },
        };
    },
    async update(req, old, ctx) {
        const ep = await ctx.docker();
        const changed = Object.keys({ ...req.inputs, ...old.inputs }).filter((k) => CONTAINER_UPDATABLE.has(k) && JSON.stringify(req.inputs[k]) !== JSON.stringify(old.inputs[k]));
        if (changed.length) {
            const i = req.inputs;
            const body: any = {
                RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: i.maxRetryCount ?? 0 },
                CpuShares: i.cpuShares ?? 0,
                Memory: (i.memory ?? 0) * MiB,
                CpusetCpus: i.cpuSet ?? "",
            };
            if (i.memorySwap) body.MemorySwap = i.memorySwap > 0 ? i.memorySwap * MiB : i.memorySwap;
            await ep.api("POST", `/containers/${old.id}/update`, body);
        }
        return { id: old.id, outputs: { ...old.outputs, ...req.inputs, name: old.outputs.name } };
    },
    async read(entry, ctx) {
        return exists(await ctx.docker(), `/containers/${enc(entry.id)}/json`, entry);
    },
    async delete(entry, ctx) {
        const ep = await ctx.docker();
        const i = entry.inputs ?? {};
        if (i.destroyGraceSeconds > 0) {
            await ep.api("POST", `/containers/${entry.id}/stop?t=${i.destroyGraceSeconds}`, undefined, [204, 304, 404]);
        }
        const v = i.removeVolumes === false ? "false" : "true";
        await ep.api("DELETE", `/containers/${entry.id}?force=true&v=${v}`, undefined, [204, 404]);
        // Wait until it is gone (removal is asynchronous for running containers).
        for (let n = 0; n < 100; n++) {
            const r = await ep.api("GET", `/containers/${entry.id}/json`, undefined, [200, 404]);
            if (r.status === 404) return;
            await sleep(100);
        }
    },
};

// ---------------------------------------------------------------------------------------------
// RemoteImage

export const REMOTE_IMAGE_SPEC: { [k: string]: Spec } = {
    name: "string",
    keepLocally: "boolean",
    forceRemove: "boolean",
    pullTriggers: ["string"],
    triggers: "map",
    platform: "string",
    // build: not implemented (use docker.Image)
};

export const remoteImage: Handler = {
    spec: REMOTE_IMAGE_SPEC,
    deleteBeforeReplace: false,
    diff(changed) {
        return changed.some((k) => ["name", "pullTriggers", "triggers", "platform"].includes(k)) ? "replace" : "update";
    },
    async create(req, ctx) {
        const ep = await ctx.docker();
        const info = await ensureImage(ep, req.inputs.name, ctx, req.inputs.platform);
        return {
            id: `${info.Id}${req.inputs.name}`,
            outputs: { ...req.inputs, imageId: info.Id, repoDigest: (info.RepoDigests ?? [])[0] ?? "" },
        };
    },
    async update(req, old) {
        return { id: old.id, outputs: { ...old.outputs, ...req.inputs } };
    },
    async delete(entry, ctx) {
        const i = entry.inputs ?? {};
        if (i.keepLocally) return;
        const ep = await ctx.docker();
        const r = await ep.api("DELETE", `/images/${enc(i.name)}?force=${i.forceRemove ? "true" : "false"}`, undefined, [200, 404, 409]);
        if (r.status === 409) throw new StandinError(`cannot remove image ${i.name}: ${r.body?.message ?? r.text}`);
    },
};

// ---------------------------------------------------------------------------------------------
// Image (build, push)

export const IMAGE_SPEC: { [k: string]: Spec } = {
    imageName: "string",
    build: {
        context: "string",
        dockerfile: "string",
        args: "map",
        platform: "string",
        target: "string",
        addHosts: ["string"],
        network: "string",
        builderVersion: { oneOf: ["BuilderV1", "BuilderBuildKit"] },
        // cacheFrom: not implemented
    },
    skipPush: "boolean",
    buildOnPreview: "boolean",
    registry: { server: "string", username: "string", password: "string" },
};

/** Hash of the build context (file names, modes, contents) plus the Dockerfile, like the provider's contextDigest. */
export function contextDigest(contextDir: string, dockerfile: string): string {
    const h = crypto.createHash("sha256");
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const p = path.join(dir, e.name);
            const rel = path.relative(contextDir, p);
            if (e.name === ".git" || e.name === "node_modules") continue;
            if (e.isDirectory()) { h.update(`d:${rel}\n`); walk(p); }
            else if (e.isFile()) {
                const st = fs.statSync(p);
                h.update(`f:${rel}:${st.mode & 0o777}\n`);
                h.update(fs.readFileSync(p));
            } else if (e.isSymbolicLink()) h.update(`l:${rel}:${fs.readlinkSync(p)}\n`);
        }
    };
    walk(contextDir);
    if (fs.existsSync(dockerfile)) h.update(fs.readFileSync(dockerfile));
    return h.digest("hex");
}

export function imageBuildPaths(inputs: any, cwd: string): { context: string; dockerfile: string } {
    const context = path.resolve(cwd, inputs.build?.context ?? ".");
    // The provider resolves `dockerfile` against the working directory (not the context);
    // the default is <context>/Dockerfile.
    const dockerfile = inputs.build?.dockerfile !== undefined
        ? path.resolve(cwd, inputs.build.dockerfile)
        : path.join(context, "Dockerfile");
    return { context, dockerfile };
}

export function dockerBuildArgs(inputs: any, paths: { context: string; dockerfile: string }): string[] {
    const b = inputs.build ?? {};
    const args = ["build", "-t", inputs.imageName, "-f", paths.dockerfile];
    for (const [k, v] of Object.entries(b.args ?? {})) args.push("--build-arg", `${k}=${v}`);
    if (b.platform) args.push("--platform", b.platform);
    if (b.target) args.push("--target", b.target);
    if (b.network) args.push("--network", b.network);
    for (const h of b.addHosts ?? []) args.push("--add-host", h);
    args.push(paths.context);
    return args;
}

/** Registry host of an image name (docker's rules: first component with "." or ":" or "localhost"). */
export function registryOf(imageName: string): string {
    const first = imageName.split("/")[0];
    if (imageName.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return first;
    return "docker.io";
}

export const image: Handler = {
    spec: IMAGE_SPEC,
    deleteBeforeReplace: false,
    // The native provider updates (rebuilds) in place; registry username/password changes alone do nothing.
    diff: () => "update",
    prepareInputs: (req, cwd) => contextDigestInputs(req, cwd),
    comparable: (inputs) => ({ ...inputs, registry: inputs.registry ? { server: inputs.registry.server } : undefined }),
    async create(req, ctx) {
        return buildAndPush(req, ctx);
    },
    async update(req, _old, ctx) {
        return buildAndPush(req, ctx);
    },
    async delete() {
        // The provider's Delete is a no-op: the image stays in the local store and the registry.
    },
};

async function buildAndPush(req: ResourceRequest, ctx: HandlerContext): Promise<CreateResult> {
    const ep = await ctx.docker();
    const i = req.inputs;
    const paths = imageBuildPaths(i, ctx.cwd);
    if (!fs.existsSync(paths.dockerfile)) throw new StandinError(`${req.type} "${req.name}": could not open dockerfile at ${paths.dockerfile}`);
    ctx.log(`  building ${i.imageName} (${path.relative(ctx.cwd, paths.context) || "."})`);
    const res = await ep.cli(dockerBuildArgs(i, paths), {
        // The docker CLI here has no buildx: use the classic builder (no BuildKit-only Dockerfile syntax).
        env: { DOCKER_BUILDKIT: "0" },
        onLine: (_s, l) => { if (process.env.APPLIER_VERBOSE) ctx.log(`    ${req.name} | ${l}`); },
    });
    if (res.code !== 0) {
        throw new StandinError(`${req.type} "${req.name}": docker build failed:\n${ctx.redactor.redact((res.stdout + res.stderr).trim().split("\n").slice(-30).join("\n"))}`);
    }
    const info = (await ep.api("GET", `/images/${enc(i.imageName)}/json`)).body;
    const outputs: any = {
        ...i,
        context: i.build?.context ?? ".",
        dockerfile: path.relative(paths.context, paths.dockerfile),
        baseImageName: i.imageName,
        registryServer: i.registry?.server ?? "",
        platform: i.build?.platform,
        repoDigest: info.Id,
    };
    if (!i.skipPush) {
        let configDir: string | undefined;
        if (i.registry?.username && i.registry?.password) {
            configDir = fs.mkdtempSync(path.join(ctx.tmpDir, "push-"));
            const server = i.registry.server ?? registryOf(i.imageName);
            const auths = [...ep.config.registryAuth.filter((a) => a.address !== server), { address: server, username: i.registry.username, password: i.registry.password }];
            fs.writeFileSync(path.join(configDir, "config.json"), dockerConfigJson(auths), { mode: 0o600 });
        }
        try {
            ctx.log(`  pushing ${i.imageName}`);
            const p = await ep.cli(["push", i.imageName], { configDir });
            if (p.code !== 0) {
                throw new StandinError(`${req.type} "${req.name}": docker push failed: ${ctx.redactor.redact((p.stderr || p.stdout).trim())}`);
            }
        } finally {
            if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
        }
        const after = (await ep.api("GET", `/images/${enc(i.imageName)}/json`)).body;
        // The digest of this push: an image pushed to other repositories has their digests too.
        const repository = i.imageName.replace(/:[^:/]+$/, "");
        const digest = (after.RepoDigests ?? []).find((d: string) => d.startsWith(`${repository}@`));
        if (digest) outputs.repoDigest = digest;
    }
    return { id: i.imageName, outputs };
}

export function contextDigestInputs(req: ResourceRequest, cwd: string): any {
    // Image inputs gain build.contextDigest (like the provider's Check) so that a changed
    // build context rebuilds the image.
    const paths = imageBuildPaths(req.inputs, cwd);
    if (!fs.existsSync(paths.context)) throw new StandinError(`${req.type} "${req.name}": build context ${paths.context} does not exist`);
    return { ...req.inputs, build: { ...(req.inputs.build ?? {}), contextDigest: contextDigest(paths.context, paths.dockerfile) } };
}
