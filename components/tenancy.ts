import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as forms from "../core/docker-forms";
import { contentHash } from "../core/hash";
import { Model } from "../core/model";
import { renderScript, shq } from "../core/scripts";
import { instanceContainerName, instanceResourceName } from "../core/tenancy";
import { instanceLabels, jumpPaths, renderInstanceAgent, renderJumpSshdConfig, renderJumpUsers, renderTenantRoutes } from "../core/tenancy-render";
import { Host } from "./host";
import { localImage } from "./localImage";
import { remoteFile } from "./remoteFile";

export interface TenancyArgs {
    model: Model;
    /** Bootstrapped hosts by name (the manager and the nodes). */
    hosts: Record<string, Host>;
    /** Repo root: images/instance is the instance (and jump host) image's build context. */
    projectDir: string;
    /** The manager's DNS serves the instances' names. */
    managerReady: pulumi.Resource[];
}

export interface InstanceRow {
    tenant: string;
    name: string;
    node: string;
    address: string;
    fqdn: string;
    cpuset?: string;
    memory?: number;
    disk?: number;
    ssh: string;
}

/**
 * Tenants' instances: per tenant a bridge network on each node hosting its instances, the
 * instance containers (sshd, key-only, limited in cores, memory, disk and bandwidth), the nodes'
 * instance agent (tc and the disk watchdog), the manager's routes to the tenant subnets, and the
 * jump host on the manager (the only way in). Resource names: tenant, instance and node names.
 */
export class Tenancy extends pulumi.ComponentResource {
    readonly instances: InstanceRow[];

    constructor(name: string, args: TenancyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Tenancy", name, {}, opts);
        const { model, hosts } = args;
        const t = model.tenancy;
        const manager = hosts[model.manager.name];
        const context = path.join(args.projectDir, "images", "instance");
        const { image: built, imageName } = localImage(`${name}-instance-image`, { repository: `${model.cloudName}-instance`, context, baseImage: model.baseImage, platform: model.platform }, { parent: this });
        // Shipped over SSH to each host that runs it (the registry holds apps' images only).
        const shipped: Record<string, pulumi.Output<string>> = {};
        const ship = (host: string) =>
            (shipped[host] ??= new command.local.Command(
                `${name}-instance-image-ship-${host}`,
                {
                    create: hosts[host].sshArgs.apply((sshArgs) => {
                        const h = host === model.manager.name ? model.manager : model.nodes.find((n) => n.name === host)!;
                        return renderScript("ship-image", { host, sshArgs, port: h.ssh.port, user: h.ssh.user, sshHost: h.ssh.host, image: imageName });
                    }),
                    triggers: [imageName],
                },
                { parent: this, dependsOn: [built, hosts[host].ready] },
            ).stdout.apply(() => imageName));

        // Nodes: the agent, then each tenant's network.
        const nodes = [...new Set(t.instances.map((x) => x.node))];
        const agentScript = renderInstanceAgent(model);
        const agents: Record<string, command.remote.Command> = {};
        for (const node of nodes) {
            const conn = hosts[node].connection;
            const file = remoteFile(`${name}-agent-${node}`, { connection: conn, file: jumpPaths.agent, content: agentScript }, { parent: this });
            agents[node] = new command.remote.Command(
                `${name}-agent-start-${node}`,
                { connection: conn, create: renderScript("instance-agent-start", { agent: jumpPaths.agent, digest: contentHash(agentScript) }), triggers: [file.hash], addPreviousOutputInEnv: false },
                { parent: this, dependsOn: [file.command] },
            );
        }
        const networks: Record<string, docker.Network> = {};
        for (const n of t.networks) {
            networks[`${n.tenant}@${n.node}`] = new docker.Network(
                `${n.tenant}@${n.node}`,
                {
                    name: n.name,
                    driver: "bridge",
                    ipamConfigs: [{ subnet: n.subnet, gateway: n.gateway }],
                    options: { "com.docker.network.bridge.name": n.bridge, "com.docker.network.bridge.enable_icc": "true" },
                    labels: [{ label: "matrix.tenant", value: n.tenant }],
                },
                // Fixed names: the old one must go before its replacement is created.
                { parent: this, provider: hosts[n.node].provider, deleteBeforeReplace: true },
            );
        }

        const keys = new Map(t.tenants.map((x) => [x.name, x.keys.join("\n")]));
        this.instances = [];
        for (const x of t.instances) {
            const rname = instanceResourceName(x.tenant, x.name);
            const node = hosts[x.node];
            const image = x.image ?? ship(x.node);
            const container = new docker.Container(
                rname,
                {
                    name: instanceContainerName(model.cloudName, x.tenant, x.name),
                    image,
                    command: x.image ? undefined : ["matrix-instance"],
                    hostname: x.name,
                    // Public keys: not secret. The instance's sshd accepts these only.
                    envs: [`MATRIX_USER=${x.user}`, `MATRIX_KEYS=${keys.get(x.tenant) ?? ""}`, `MATRIX_ROOT_LOGIN=${x.rootLogin ? "yes" : "no"}`],
                    networksAdvanced: [{ name: networks[`${x.tenant}@${x.node}`].name, ipv4Address: x.address }],
                    // No published port: reachable only through the manager's route (and the jump host).
                    cpuSet: x.cpuset,
                    ...forms.memoryLimits(x.memory, x.memoryReservation),
                    storageOpts: t.disk === "quota" && x.disk !== undefined ? { size: `${x.disk}M` } : undefined,
                    restart: "unless-stopped",
                    init: true,
                    capabilities: forms.capabilities({ drops: ["NET_RAW"] }),
                    securityOpts: ["no-new-privileges"],
                    labels: Object.entries(instanceLabels(model, x)).map(([label, value]) => ({ label, value })),
                    destroyGraceSeconds: 10,
                },
                { parent: this, provider: node.provider, dependsOn: x.node in agents ? [agents[x.node]] : [], deleteBeforeReplace: true },
            );
            if (x.bandwidth.in || x.bandwidth.out)
                new command.remote.Command(
                    `${rname}-bandwidth`,
                    // A new container (new veth) shapes again; the agent re-shapes after restarts.
                    { connection: node.connection, create: pulumi.interpolate`sh ${jumpPaths.agent} bandwidth ${shq(instanceContainerName(model.cloudName, x.tenant, x.name))} # ${container.id}`, addPreviousOutputInEnv: false },
                    { parent: this, dependsOn: [container] },
                );
            // Where operators reach the manager (the jump host listens on router.bind, else every address).
            const jump = model.mode === "lab" ? `-J ${x.tenant}@127.0.0.1:${model.lab!.jumpPort}` : `-J ${x.tenant}@${model.router.bind ?? model.manager.ssh.host}:${t.jumpPort}`;
            this.instances.push({ tenant: x.tenant, name: x.name, node: x.node, address: x.address, fqdn: x.fqdn, cpuset: x.cpuset, memory: x.memory, disk: x.disk, ssh: `ssh ${jump} ${x.user}@${x.fqdn}` });
        }

        if (t.tenants.length) {
            const conn = manager.connection;
            const routes = new command.remote.Command(
                `${name}-routes`,
                { connection: conn, create: renderTenantRoutes(model, "apply"), delete: renderTenantRoutes(model, "remove"), addPreviousOutputInEnv: false },
                { parent: this, deleteBeforeReplace: true },
            );
            const { users, keys: keyFiles } = renderJumpUsers(model);
            const files = [
                remoteFile(`${name}-jump-config`, { connection: conn, file: `${jumpPaths.hostDir}/sshd_config`, content: renderJumpSshdConfig(model) }, { parent: this }),
                remoteFile(`${name}-jump-users`, { connection: conn, file: `${jumpPaths.hostDir}/users`, content: users }, { parent: this }),
                ...Object.entries(keyFiles).map(([tenant, content]) => remoteFile(`${name}-jump-keys-${tenant}`, { connection: conn, file: `${jumpPaths.hostDir}/keys/${tenant}`, content }, { parent: this })),
            ];
            const hostKeys = new docker.Volume(`${name}-jump-host-keys`, { name: `${model.cloudName}-jump-host-keys` }, { parent: this, provider: manager.provider });
            const jumpName = `${model.cloudName}-jump`;
            const jump = new docker.Container(
                `${name}-jump`,
                {
                    name: jumpName,
                    image: ship(model.manager.name),
                    command: ["matrix-jump"],
                    // Host network: the manager's routes lead to the tenant subnets; the manager's DNS names them.
                    networkMode: "host",
                    dns: [model.manager.address],
                    dnsSearches: [model.domain],
                    mounts: [
                        { type: "bind", source: jumpPaths.hostDir, target: jumpPaths.containerDir, readOnly: true },
                        { type: "volume", source: hostKeys.name, target: jumpPaths.hostKeyDir },
                    ],
                    restart: "unless-stopped",
                    init: true,
                },
                { parent: this, provider: manager.provider, dependsOn: [...files.map((f) => f.command), routes, ...args.managerReady], deleteBeforeReplace: true },
            );
            // New tenants, keys or instances: users synced and sshd's config re-read, sessions kept.
            new command.remote.Command(
                `${name}-jump-reload`,
                {
                    connection: conn,
                    create: renderScript("signal-container", { why: "sync the jump host's tenants and re-read its sshd config", signal: "HUP", container: jumpName }),
                    triggers: [...files.map((f) => f.hash), jump.id],
                },
                { parent: this, dependsOn: [jump] },
            );
        }
        this.registerOutputs({ instances: this.instances });
    }
}
