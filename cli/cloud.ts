// What the CLI asks the cloud: each host's facts, containers and stats, the router's view of the
// replicas, the registry's catalog. Every host is asked at once; a host that fails is reported
// with what failed, and never hides the others.
import * as https from "https";
import { CliError, UsageError } from "./errors";
import { HostInfo, Outputs } from "./outputs";
import {
    BackendHealth, Container, ContainerStats, DOCKER_JSON_FORMAT, HostFacts, Image,
    jsonLines, parseBackendList, parseContainer, parseHostFacts, parseImage, parseStats, parseVarnishstat, rates, sections,
} from "./parse";
import { firstLine, mustRun, onHosts, Progress, runScript, Settled } from "./remote";

export interface HostReport {
    host: HostInfo;
    /** Set when the host could not be asked: what failed. */
    error?: string;
    facts?: HostFacts;
    containers?: Container[];
    stats?: ContainerStats[];
}

/** Facts of every host, with their containers and/or per-container stats when asked. */
export async function askHosts(hosts: readonly HostInfo[], what: { containers?: boolean; stats?: boolean }, progress?: Progress): Promise<HostReport[]> {
    const settled = await onHosts(
        hosts,
        async (host) => {
            const r = await runScript(
                host,
                "cli-host-facts",
                { containers: !!what.containers, stats: !!what.stats, format: DOCKER_JSON_FORMAT, versionFormat: "{{.Server.Version}}" },
                // docker stats samples for about 2 s on each host.
                { timeoutMs: what.stats ? 45_000 : 20_000 },
            );
            if (r.code !== 0) throw new CliError(`${host.name}: reading the host's state failed: ${firstLine(r.stderr) || `exit ${r.code}`}`);
            return r.stdout;
        },
        progress,
    );
    return settled.map(({ host, value, error }) => {
        if (error) return { host, error: error.message };
        const [head, ...rest] = value!.split(/^(?=@@)/m);
        const facts = parseHostFacts(head);
        const report: HostReport = { host, facts };
        try {
            for (const s of sections(rest.join(""))) {
                if (s.name === "containers") report.containers = jsonLines(s.body, `${host.name}: docker ps`).map(parseContainer);
                if (s.name === "stats") report.stats = jsonLines(s.body, `${host.name}: docker stats`).map(parseStats);
            }
        } catch (e: any) {
            report.error = e.message;
        }
        if (facts.docker === undefined && !report.error) report.error = `${host.name}: docker does not answer (${facts.dockerError ?? "no reply"})`;
        return report;
    });
}

/** A report's error, prefixed with its host unless it already is. */
export function hostError(r: { host: HostInfo; error?: string }): string | undefined {
    if (!r.error) return undefined;
    return r.error.startsWith(`${r.host.name}:`) ? r.error : `${r.host.name}: ${r.error}`;
}

export interface RouterView {
    backends: BackendHealth[];
    /** Requests per second by backend CLI name, and in total (MAIN.client_req). */
    backendRps: Record<string, number>;
    totalRps?: number;
}

/** The router's health view and request rates (two varnishstat samples `seconds` apart). */
export async function askRouter(outputs: Outputs, seconds = 1): Promise<RouterView> {
    const manager = managerOf(outputs);
    const r = await runScript(manager, "cli-router-sample", { container: outputs.cloudInfo.router.container, seconds }, { timeoutMs: 20_000 + seconds * 1000 });
    if (r.code !== 0) throw new CliError(`${manager.name}: the router (container ${outputs.cloudInfo.router.container}) does not answer: ${firstLine(r.stderr) || `exit ${r.code}`}`);
    return parseRouterSample(r.stdout);
}

export function parseRouterSample(text: string): RouterView {
    const parts = sections(text);
    const list = parts.find((s) => s.name === "backends");
    if (!list) throw new Error("router sample: no backend list");
    const backends = parseBackendList(list.body);
    const stats = parts.filter((s) => s.name === "stat");
    const view: RouterView = { backends, backendRps: {} };
    if (stats.length === 2) {
        const seconds = (Number(stats[1].arg) - Number(stats[0].arg)) / 1e9;
        const perCounter = rates(parseVarnishstat(stats[0].body), parseVarnishstat(stats[1].body), seconds);
        for (const b of backends) if (perCounter[`VBE.${b.cliName}.req`] !== undefined) view.backendRps[b.cliName] = perCounter[`VBE.${b.cliName}.req`];
        view.totalRps = perCounter["MAIN.client_req"];
    }
    return view;
}

export function managerOf(outputs: Outputs): HostInfo {
    const m = outputs.hosts.find((h) => h.role === "manager");
    if (!m) throw new CliError("the stack's outputs list no manager host");
    return m;
}

export function nodesOf(outputs: Outputs): HostInfo[] {
    return outputs.hosts.filter((h) => h.role === "node");
}

/** A host by name, or a usage error listing the names there are. */
export function hostNamed(outputs: Outputs, name: string): HostInfo {
    const h = outputs.hosts.find((x) => x.name === name);
    if (!h) throw new UsageError(`no host named "${name}"; hosts: ${outputs.hosts.map((x) => x.name).join(", ")}`);
    return h;
}

export function appNames(outputs: Outputs): string[] {
    return Object.keys(outputs.applications).sort();
}

/** The nodes an app's replicas are placed on (stack output applications.<app>.replicas). */
export function appNodes(outputs: Outputs, app: string): HostInfo[] {
    const a = outputs.applications[app];
    if (!a) throw new UsageError(`no application named "${app}"; applications: ${appNames(outputs).join(", ") || "none"}`);
    const names = new Set(((a as any).replicas ?? []).map((r: any) => String(r.node)));
    return outputs.hosts.filter((h) => names.has(h.name));
}

export interface Replica {
    host: HostInfo;
    container: Container;
}

/** The running containers of an app on its nodes (during a rollout, old and new side by side). */
export async function appContainers(outputs: Outputs, app: string, progress?: Progress): Promise<{ replicas: Replica[]; failures: Settled<unknown>[] }> {
    const nodes = appNodes(outputs, app);
    const settled = await onHosts(
        nodes,
        async (host) => {
            const out = await mustRun(
                host,
                ["docker", "ps", "--no-trunc", "--filter", `label=matrix.cloud=${outputs.cloudInfo.name}`, "--filter", `label=matrix.app=${app}`, "--format", DOCKER_JSON_FORMAT],
                "docker ps",
                { timeoutMs: 20_000 },
            );
            return jsonLines(out, `${host.name}: docker ps`).map(parseContainer);
        },
        progress,
    );
    const replicas = settled.flatMap((s) => (s.value ?? []).map((container) => ({ host: s.host, container })));
    return { replicas, failures: settled.filter((s) => s.error) };
}

export interface RegistryCatalog {
    address: string;
    repositories: { name: string; tags: string[] }[];
}

/**
 * The registry's catalog and tags, over its HTTPS API with its credentials, verified against the
 * cloud's CA, at the push address: the one address of the registry this machine already reaches
 * (it pushes there; the manager's hosts have no HTTP client to ask for us).
 */
export async function registryCatalog(outputs: Outputs): Promise<RegistryCatalog> {
    const { pushAddress, username } = outputs.cloudInfo.registry;
    const password = outputs.registryPassword;
    if (password === undefined || password === "[secret]") throw new CliError("the registry password (secret output registryPassword) could not be read: set PULUMI_CONFIG_PASSPHRASE for the stack");
    const get = (path: string) => httpsJson(`https://${pushAddress}${path}`, { ca: outputs.ca, auth: `${username}:${password}` });
    const catalog = await get("/v2/_catalog?n=1000");
    const names: string[] = (catalog.repositories ?? []).slice().sort();
    const repositories = await Promise.all(names.map(async (name) => ({ name, tags: (((await get(`/v2/${name}/tags/list`)).tags ?? []) as string[]).slice().sort() })));
    return { address: outputs.cloudInfo.registry.address, repositories };
}

function httpsJson(url: string, options: { ca?: string; auth: string }): Promise<any> {
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method: "GET", ca: options.ca, auth: options.auth, timeout: 10_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => {
                if (res.statusCode !== 200) return reject(new CliError(`registry ${new URL(url).host}: ${url.replace(/^https:\/\/[^/]+/, "")} answered ${res.statusCode}`));
                try {
                    resolve(JSON.parse(body));
                } catch {
                    reject(new CliError(`registry ${new URL(url).host}: the answer is not JSON`));
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
        req.on("error", (e) => reject(new CliError(`registry ${new URL(url).host}: ${e.message}`)));
        req.end();
    });
}

/** Images on one host (`docker images --digests`). */
export async function hostImages(host: HostInfo): Promise<Image[]> {
    const out = await mustRun(host, ["docker", "images", "--digests", "--format", DOCKER_JSON_FORMAT], "docker images", { timeoutMs: 20_000 });
    return jsonLines(out, `${host.name}: docker images`).map(parseImage);
}
