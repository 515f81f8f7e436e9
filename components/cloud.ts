import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { allHosts, Host as HostModel, Model, PemSource, withHostPorts } from "../core/model";
import { renderFiles, renderVcl } from "../core/render";
import { renderScript, shq } from "../core/scripts";
import { knownHostsPath } from "../core/ssh";
import { serviceContainerName } from "../core/layout";
import { monitorUrl, renderMonitorConfig } from "../core/monitoring";
import { registryCertRequest, routerCertRequest } from "../core/tls";
import { Application } from "./application";
import { Certificates } from "./certificates";
import { Host } from "./host";
import { Lab } from "./lab";
import { Manager } from "./manager";
import { InstanceRow, Tenancy } from "./tenancy";
import { Monitoring } from "./monitoring";

export interface CloudArgs {
    model: Model;
    /** Repo root: build contexts of the lab host and services images. */
    projectDir: string;
    stack: string;
    /** Secret config values by key. */
    secret: (key: string) => pulumi.Output<string>;
}

/** One host as the `matrix` CLI reaches it: plain data, no secret (the key is a file path). */
export interface HostRow {
    name: string;
    role: "manager" | "node";
    address: string;
    fqdn: string;
    groups: string[];
    labels: Record<string, string>;
    drain: boolean;
    ssh: SshRow;
}

/** How the local ssh client reaches a host; `via`: the host it is dialed through (nodes behind the manager). */
interface SshRow {
    host: string;
    port: number;
    user: string;
    keyFile: pulumi.Output<string>;
    knownHostsFile: string;
    via?: SshRow;
}

/** What the CLI needs besides the hosts: names of the manager's service containers, the registry's plain coordinates. */
export interface CloudInfo {
    name: string;
    domain: string;
    mode: "lab" | "ssh";
    router: { container: string };
    registry: { address: string; pushAddress: string; username: string };
}

export interface PlacementRow {
    app: string;
    node: string;
    address: string;
    hostPort: pulumi.Output<number>;
    container: pulumi.Output<string>;
}

/** The whole private cloud: hosts (lab containers or SSH machines), the manager's services, the apps, the router. */
export class Cloud extends pulumi.ComponentResource {
    readonly routerUrl: string;
    /** The status page and its API (monitor/API.md); unset when monitoring is off. */
    readonly monitorUrl?: string;
    /** The router over HTTPS; unset when router.tls is off. */
    readonly routerHttpsUrl?: string;
    /** The cloud's CA certificate (public): what clients and Docker engines trust. */
    readonly ca: pulumi.Output<string>;
    readonly registryAddress: string;
    readonly cloud: CloudInfo;
    readonly hosts: HostRow[];
    /** Secret: the registry's password (what `matrix images` lists the registry with). */
    readonly registryPassword: pulumi.Output<string>;
    readonly nodes: { name: string; address: string }[];
    readonly placement: PlacementRow[];
    readonly applications: Record<string, { urls: string[]; image: pulumi.Output<string>; version: string; replicas: PlacementRow[] }>;
    /** Pools, allocations and each node's free capacity (plain data from the model). */
    readonly pools: ReturnType<typeof poolsOutput>;
    /** Tenants' instances: node, address, DNS name, ssh command line. */
    readonly tenants: Record<string, InstanceRow[]>;

    constructor(name: string, args: CloudArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Cloud", name, {}, opts);
        const { model } = args;
        // The cloud translates the model: files are rendered here, components only place them.
        const files = renderFiles(model);

        // Hosts: in lab mode the lab creates them first; either way each gets a bootstrapped Host.
        const lab =
            model.mode === "lab"
                ? new Lab(
                      "lab",
                      {
                          cloudName: model.cloudName,
                          baseImage: model.baseImage,
                          platform: model.platform,
                          domain: model.domain,
                          network: model.network,
                          manager: model.manager,
                          nodes: model.nodes,
                          lab: model.lab!,
                          routerPort: model.router.port,
                          registryPort: model.registry.port,
                          routerTlsPort: model.router.tls.enabled ? model.router.tls.port : undefined,
                          jumpPort: model.tenancy.tenants.length ? model.tenancy.jumpPort : undefined,
                          monitorPort: model.monitoring.enabled ? model.monitoring.port : undefined,
                          projectDir: args.projectDir,
                          stack: args.stack,
                      },
                      { parent: this },
                  )
                : undefined;
        const auth = registryAuth(model, args, this);
        const tls = model.router.tls;
        // The router's certificate: the operator's, else one more leaf of the cloud's CA.
        const issueRouter = tls.enabled && !tls.certificate;
        const certificates = new Certificates(
            "certificates",
            {
                cloudName: model.cloudName,
                ca: model.tls.ca && { certificate: pem(model.tls.ca.certificate, args), key: args.secret(model.tls.ca.key.secret) },
                leaves: {
                    registry: { what: "registry", request: registryCertRequest(model) },
                    ...(issueRouter ? { router: { what: "router", request: routerCertRequest(model) } } : {}),
                },
            },
            { parent: this },
        );
        const registryCa = { address: model.registry.address, certificate: certificates.caCertificate };
        const hosts: Record<string, Host> = {};
        const keyFiles = new Map<string, pulumi.Output<string>>();
        const hostInputs = new Map<string, { privateKey: pulumi.Input<string>; privateKeyPath: pulumi.Input<string>; hostKey: pulumi.Input<string>; knownHostsFile: string }>();
        // Hosts dialed through another come after it.
        for (const h of [...allHosts(model)].sort((a, b) => Number(!!a.ssh.via) - Number(!!b.ssh.via))) {
            const key = lab ? { privateKey: lab.privateKey, privateKeyPath: lab.privateKeyPath } : sshKey(h, args, keyFiles, this);
            const hostKey = lab ? lab.hostKeys[h.name] : (h.ssh.hostKey ?? firstContactKey(h, this));
            const knownHostsFile = knownHostsPath(args.projectDir, args.stack, h.name);
            hostInputs.set(h.name, { ...key, hostKey, knownHostsFile });
            const viaHost = h.ssh.via ? allHosts(model).find((x) => x.name === h.ssh.via)! : undefined;
            hosts[h.name] = new Host(
                h.name,
                {
                    host: h,
                    daemonJson: files.daemonJson,
                    ...key,
                    hostKey,
                    knownHostsFile,
                    via: viaHost && { ssh: viaHost.ssh, ...hostInputs.get(viaHost.name)! },
                    firewall: h.role === "node" ? files.firewall : undefined,
                    registryCa,
                    registryAuth: h.role === "node" ? { address: model.registry.address, ...auth } : undefined,
                },
                { parent: this, dependsOn: [...(lab ? [lab.machines[h.name]] : []), ...(viaHost ? [hosts[viaHost.name].provider] : [])] },
            );
        }
        const manager = new Manager(
            model.manager.name,
            {
                cloudName: model.cloudName,
                baseImage: model.baseImage,
                platform: model.platform,
                machine: model.manager,
                host: hosts[model.manager.name],
                projectDir: args.projectDir,
                registry: { address: model.manager.address, port: model.registry.port, config: files.registryConfig, auth, tls: certificates.issued.registry },
                dns: { conf: files.dnsmasqConf, records: files.dnsHosts, dhcpHosts: files.dhcpHosts },
            },
            { parent: this },
        );

        const fixedPorts: Record<string, number[]> = {};
        for (const r of model.applications.flatMap((a) => a.replicas)) if (r.fixedPort) (fixedPorts[r.node] ??= []).push(r.hostPort);
        const apps = model.applications.map(
            (app) =>
                new Application(
                    app.name,
                    {
                        cloudName: model.cloudName,
                        app,
                        platform: model.platform,
                        registry: { address: model.registry.address, pushAddress: model.registry.pushAddress, auth, keep: model.registry.keep },
                        pinnedDigest: app.source.kind === "pinned" ? manager.tagDigest(`${app.name}-digest`, { app: app.name, tag: app.source.tag }) : undefined,
                        hostPorts: model.hostPorts,
                        fixedPorts,
                        nodes: Object.fromEntries(app.replicas.map((r) => [r.node, hosts[r.node]])),
                        secret: args.secret,
                        managerReady: manager.ready,
                    },
                    { parent: this },
                ),
        );
        // The registry holds the images of built (and pinned) apps only.
        const kept = model.applications.flatMap((a, i) => (a.source.kind === "image" ? [] : [{ name: a.name, current: apps[i].version }]));
        // After the rollout: a failed one must not collect the image that is still serving.
        const rolledOut = apps.flatMap((a) => [...(a.image ? [a.image] : []), ...a.replicas.map((r) => r.healthy)]);
        if (kept.length) manager.addImageRetention("registry-gc", { apps: kept, keep: model.registry.keep, after: rolledOut });
        const vcl = pulumi.all(apps.map((a) => pulumi.all(a.replicas.map((r) => r.hostPort)))).apply((ports) => renderVcl(withHostPorts(model, ports)));
        const routerCertificate = issueRouter
            ? certificates.issued.router
            : tls.certificate && { certificate: pulumi.unsecret(pem(tls.certificate, args)), key: args.secret(tls.key!.secret) };
        const router = manager.addRouter("router", {
            bind: model.router.bind,
            port: model.router.port,
            adminPort: model.router.adminPort,
            vcl,
            backends: apps.flatMap((a) => a.replicas.map((r) => r.healthy)),
            tls: routerCertificate ? { proxyPort: tls.proxyPort, conf: files.hitchConf!, ...routerCertificate } : undefined,
        });

        const tenancy =
            model.tenancy.tenants.length || model.tenancy.instances.length
                ? new Tenancy("tenancy", { model, hosts, projectDir: args.projectDir, managerReady: manager.ready }, { parent: this })
                : undefined;
        this.pools = poolsOutput(model);
        this.tenants = Object.fromEntries(model.tenancy.tenants.map((x) => [x.name, (tenancy?.instances ?? []).filter((i) => i.tenant === x.name)]));
        const deployed = pulumi
            .all(apps.map((a) => a.imageRef))
            .apply((refs) => Object.fromEntries(model.applications.map((a, i) => [a.name, { version: apps[i].version, image: refs[i] }])));
        // monitoring.enabled false: no cAdvisor, no monitor, no status page.
        if (model.monitoring.enabled) {
            new Monitoring(
                "monitoring",
                {
                    model,
                    projectDir: args.projectDir,
                    hosts,
                    registry: { address: model.registry.address, pushAddress: model.registry.pushAddress, auth },
                    managerReady: manager.ready,
                    servicesImage: manager.servicesImage,
                    config: deployed.apply((d) => renderMonitorConfig(model, d)),
                    varnishVolume: router.varnishVolume,
                    router: router.container,
                },
                { parent: this },
            );
        }

        // Plain outputs: nothing here is secret.
        const port = lab ? model.lab!.routerPort : model.router.port;
        const host = lab ? "127.0.0.1" : model.manager.address;
        this.routerUrl = `http://${host}${port === 80 ? "" : `:${port}`}/`;
        if (model.monitoring.enabled) this.monitorUrl = monitorUrl(model);
        const httpsPort = lab ? model.lab!.routerTlsPort : tls.port;
        const httpsSuffix = httpsPort === 443 ? "" : `:${httpsPort}`;
        if (tls.enabled) this.routerHttpsUrl = `https://${host}${httpsSuffix}/`;
        this.ca = certificates.caCertificate;
        this.registryAddress = model.registry.address;
        this.cloud = {
            name: model.cloudName,
            domain: model.domain,
            mode: model.mode,
            router: { container: serviceContainerName(model.cloudName, "router") },
            registry: { address: model.registry.address, pushAddress: model.registry.pushAddress, username: auth.username },
        };
        const sshRow = (h: HostModel): SshRow => {
            const via = h.ssh.via ? allHosts(model).find((x) => x.name === h.ssh.via) : undefined;
            return { host: h.ssh.host, port: h.ssh.port, user: h.ssh.user, keyFile: hosts[h.name].keyFile, knownHostsFile: knownHostsPath(args.projectDir, args.stack, h.name), ...(via ? { via: sshRow(via) } : {}) };
        };
        this.hosts = allHosts(model).map((h) => ({
            name: h.name,
            role: h.role,
            address: h.address,
            fqdn: h.fqdn,
            groups: h.groups,
            labels: h.labels,
            drain: h.drain,
            ssh: sshRow(h),
        }));
        this.registryPassword = pulumi.secret(auth.password);
        this.nodes = model.nodes.map((n) => ({ name: n.name, address: n.address }));
        this.placement = apps.flatMap((a, i) => a.replicas.map((r) => ({ app: model.applications[i].name, node: r.node, address: r.address, hostPort: r.hostPort, container: r.container })));
        this.applications = Object.fromEntries(
            model.applications.map((a, i) => [
                a.name,
                {
                    // A route with a hostname matches only that host (with its path prefix).
                    urls: [
                        a.route.hostname ? `http://${a.route.hostname}${port === 80 ? "" : `:${port}`}${a.route.path}` : `${this.routerUrl}${a.route.path.slice(1)}`,
                        ...(this.routerHttpsUrl ? [a.route.hostname ? `https://${a.route.hostname}${httpsSuffix}${a.route.path}` : `${this.routerHttpsUrl}${a.route.path.slice(1)}`] : []),
                    ],
                    image: apps[i].imageRef,
                    version: apps[i].version,
                    replicas: this.placement.filter((p) => p.app === a.name),
                },
            ]),
        );
        this.registerOutputs({
            routerUrl: this.routerUrl,
            monitorUrl: this.monitorUrl,
            routerHttpsUrl: this.routerHttpsUrl,
            ca: this.ca,
            registryAddress: this.registryAddress,
            cloud: this.cloud,
            hosts: this.hosts,
            registryPassword: this.registryPassword,
            nodes: this.nodes,
            placement: this.placement,
            applications: this.applications,
            pools: this.pools,
            tenants: this.tenants,
        });
    }
}

/** The `describe` view of pools: members, allocations (who holds which machines) and free capacity per node. */
export function poolsOutput(model: Model) {
    const t = model.tenancy;
    const heldBy = (node: string) => t.allocations.filter((a) => a.nodes.includes(node)).map((a) => a.name);
    return {
        pools: Object.fromEntries(
            t.pools.map((p) => [p.name, { nodes: p.nodes, free: p.nodes.filter((n) => !t.allocations.some((a) => a.exclusive && a.nodes.includes(n))) }]),
        ),
        allocations: Object.fromEntries(t.allocations.map((a) => [a.name, { pool: a.pool, for: a.tenant ?? a.purpose ?? "", exclusive: a.exclusive, nodes: a.nodes }])),
        capacity: Object.fromEntries(
            t.capacity.map((c) => [
                c.node,
                {
                    cores: c.cores ?? null,
                    coresFree: c.cores === undefined ? null : c.cores - c.pinnedCores.length,
                    memoryMiB: c.memory ?? null,
                    memoryFreeMiB: c.memory === undefined ? null : c.memory - c.memoryPromised,
                    allocations: heldBy(c.node),
                },
            ]),
        ),
    };
}

/** A PEM text from the config: a file on this machine, or a secret config key. */
function pem(source: PemSource, args: CloudArgs): pulumi.Output<string> {
    return "path" in source ? pulumi.output(fs.readFileSync(source.path, "utf8")) : args.secret(source.secret);
}

/** ssh mode without a configured host key: the key the host offers at first contact, pinned from then on in the stack. */
function firstContactKey(host: HostModel, parent: pulumi.Resource): pulumi.Output<string> {
    const scan = new command.local.Command(
        `${host.name}-host-key`,
        { create: renderScript("host-key-scan", { host: host.name, sshHost: host.ssh.host, port: host.ssh.port }) },
        { parent },
    );
    return scan.stdout.apply((s) => s.trim());
}

/**
 * The registry's credentials: from the config, or generated once (kept in the stack's state as a
 * secret), so that nothing can push or pull anonymously.
 */
function registryAuth(model: Model, args: CloudArgs, parent: pulumi.Resource): { username: string; password: pulumi.Output<string> } {
    if (model.registry.auth) return { username: model.registry.auth.username, password: args.secret(model.registry.auth.password.secret) };
    const generated = new command.local.Command(
        "registry-password",
        { create: "od -An -tx1 -N24 /dev/urandom | tr -d ' \\n'", logging: "none" },
        { parent, additionalSecretOutputs: ["stdout"] },
    );
    return { username: "matrix", password: pulumi.secret(generated.stdout) };
}

/**
 * SSH mode: remote commands need the key's content (kept secret), the docker provider's ssh
 * client needs a file. A key given as a secret is written for it to .lab/<stack>/keys/ in the
 * project (private directory, git-ignored), at a stable path so the provider's inputs stay put,
 * by a local command whose delete removes it again with the stack. One per key, shared by hosts.
 */
function sshKey(host: HostModel, args: CloudArgs, keyFiles: Map<string, pulumi.Output<string>>, parent: pulumi.Resource): { privateKey: pulumi.Input<string>; privateKeyPath: pulumi.Input<string> } {
    const key = host.ssh.privateKey!;
    if ("path" in key) return { privateKey: pulumi.secret(fs.readFileSync(key.path, "utf8")), privateKeyPath: key.path };
    const content = args.secret(key.secret);
    if (!keyFiles.has(key.secret)) {
        const dir = path.join(args.projectDir, ".lab", args.stack, "keys");
        const file = path.join(dir, `${key.secret}.key`);
        const written = new command.local.Command(
            `ssh-key-${key.secret}`,
            { create: renderScript("key-file", { dir, file }), delete: `rm -f ${shq(file)}`, stdin: content, logging: "none" },
            { parent, additionalSecretOutputs: ["stdout", "stderr"] },
        );
        keyFiles.set(key.secret, written.id.apply(() => file));
    }
    return { privateKey: content, privateKeyPath: keyFiles.get(key.secret)! };
}
