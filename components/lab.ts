import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { capabilities } from "../core/docker-forms";
import { labNames } from "../core/layout";
import { Host as HostModel, Lab as LabModel } from "../core/model";
import { renderScript, shq } from "../core/scripts";
import { localImage } from "./localImage";

// Every capability Docker 20.10 knows except SYS_RESOURCE, which the sandbox's bounding set
// lacks (so --privileged fails there). Enough for a nested dockerd.
export const LAB_HOST_CAPS = [
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
    "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
    "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
];

export interface LabArgs {
    cloudName: string;
    /** FROM of the lab host image. */
    baseImage: string;
    /** The platform images are built for (config `platform`). */
    platform: string;
    domain: string;
    network: { cidr: string; gateway: string };
    /** The machines to create; the manager also publishes the router and the registry. */
    manager: HostModel;
    nodes: HostModel[];
    /** The loopback ports the router and registry are published on. */
    lab: LabModel;
    /** The manager ports they are published from. */
    routerPort: number;
    registryPort: number;
    /** The router's TLS port on the manager, published on lab.routerTlsPort; unset: TLS is off. */
    routerTlsPort?: number;
    /** The tenants' jump host port on the manager, published on lab.jumpPort; unset: no tenants. */
    jumpPort?: number;
    /** The monitor's port on the manager, published on lab.monitorPort; unset: monitoring is off. */
    monitorPort?: number;
    /** Repo root: lab/host is the host image's build context; .lab/<stack> keeps the SSH key. */
    projectDir: string;
    stack: string;
}

/**
 * The lab provides hosts only: a container per machine on a private bridge network, each
 * running sshd and its own dockerd. Everything on top goes through the same code as real servers.
 */
export class Lab extends pulumi.ComponentResource {
    readonly privateKeyPath: string;
    /** Secret: the key's content. */
    readonly privateKey: pulumi.Output<string>;
    /** The host containers by host name: SSH is up once they run. */
    readonly machines: Record<string, docker.Container> = {};
    /** Each host's SSH host key (public), made here and given to its sshd: pinned from the start. */
    readonly hostKeys: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: LabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Lab", name, {}, opts);
        const { lab, manager } = args;
        const cloud = args.cloudName;
        const names = labNames(cloud);
        const keyDir = path.join(args.projectDir, ".lab", args.stack);
        this.privateKeyPath = path.join(keyDir, "id_ed25519");

        // The lab's key pair lives on this machine (.lab/<stack>, git-ignored). The private half
        // reaches Pulumi only as a secret output that is never logged.
        const key = new command.local.Command(
            `${name}-ssh-key`,
            { create: renderScript("lab-ssh-key", { dir: keyDir, key: this.privateKeyPath }), delete: `rm -f ${shq(this.privateKeyPath)} ${shq(`${this.privateKeyPath}.pub`)}`, logging: "none" },
            { parent: this, additionalSecretOutputs: ["stdout"] },
        );
        this.privateKey = pulumi.secret(key.stdout);
        const publicKey = new command.local.Command(`${name}-ssh-public-key`, { create: `cat ${shq(`${this.privateKeyPath}.pub`)}` }, { parent: this, dependsOn: [key] }).stdout;

        const context = path.join(args.projectDir, "lab", "host");
        const { image } = localImage(`${name}-host-image`, { repository: names.hostImage, context, baseImage: args.baseImage, platform: args.platform }, { parent: this });

        const network = new docker.Network(
            `${name}-network`,
            { name: names.network, driver: "bridge", ipamConfigs: [{ subnet: args.network.cidr, gateway: args.network.gateway }] },
            { parent: this },
        );

        [manager, ...args.nodes].forEach((host) => {
            const hostKey = this.hostKey(`${name}-${host.name}`, path.join(keyDir, `host_${host.name}_ed25519`));
            this.hostKeys[host.name] = hostKey.publicKey;
            const volume = new docker.Volume(`${name}-${host.name}-docker`, { name: names.hostVolume(host.name) }, { parent: this });
            // Only loopback ports are published: SSH per host, and on the manager the router
            // and the registry (the deploying machine pushes images there).
            const ports = [{ internal: 22, external: host.ssh.port, ip: "127.0.0.1" }];
            if (host.role === "manager") {
                ports.push({ internal: args.routerPort, external: lab.routerPort, ip: "127.0.0.1" }, { internal: args.registryPort, external: lab.registryPort, ip: "127.0.0.1" });
                if (args.routerTlsPort !== undefined) ports.push({ internal: args.routerTlsPort, external: lab.routerTlsPort, ip: "127.0.0.1" });
                if (args.jumpPort !== undefined) ports.push({ internal: args.jumpPort, external: lab.jumpPort, ip: "127.0.0.1" });
                if (args.monitorPort !== undefined) ports.push({ internal: args.monitorPort, external: lab.monitorPort, ip: "127.0.0.1" });
            }
            this.machines[host.name] = new docker.Container(
                `${name}-${host.name}`,
                {
                    name: names.host(host.name),
                    image: image.imageName,
                    hostname: host.name,
                    domainname: args.domain,
                    envs: [pulumi.interpolate`AUTHORIZED_KEY=${publicKey}`, pulumi.interpolate`SSH_HOST_KEY=${hostKey.privateKey}`],
                    capabilities: capabilities({ adds: LAB_HOST_CAPS }),
                    securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
                    deviceCgroupRules: ["a *:* rwm"],
                    cgroupnsMode: "private",
                    tmpfs: { "/run": "rw" },
                    mounts: [{ type: "volume", source: volume.name, target: "/var/lib/docker" }],
                    networksAdvanced: [{ name: network.name, ipv4Address: host.address }],
                    // Machines resolve the private domain through the manager's dnsmasq, like DHCP clients in the seed.
                    dns: [manager.address],
                    dnsSearches: [args.domain],
                    ports,
                    restart: "unless-stopped",
                    labels: [
                        { label: "matrix.cloud", value: cloud },
                        { label: "matrix.lab-host", value: host.name },
                    ],
                },
                { parent: this, deleteBeforeReplace: true },
            );
        });
        this.registerOutputs({ privateKeyPath: this.privateKeyPath, privateKey: this.privateKey, machines: this.machines, hostKeys: this.hostKeys });
    }

    /** A host key pair made once on this machine (.lab/<stack>): the private half a secret, the public one as known_hosts wants it. */
    private hostKey(name: string, file: string): { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> } {
        const key = new command.local.Command(
            `${name}-host-key`,
            { create: renderScript("lab-ssh-key", { dir: path.dirname(file), key: file }), delete: `rm -f ${shq(file)} ${shq(`${file}.pub`)}`, logging: "none" },
            { parent: this, additionalSecretOutputs: ["stdout"] },
        );
        const pub = new command.local.Command(`${name}-host-public-key`, { create: `cut -d ' ' -f 1,2 ${shq(`${file}.pub`)}` }, { parent: this, dependsOn: [key] });
        return { privateKey: pulumi.secret(key.stdout), publicKey: pub.stdout.apply((s) => s.trim()) };
    }
}
