import * as command from "@pulumi/command";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Host as HostModel } from "../core/model";
import { paths, serviceContainerName } from "../core/layout";
import { renderScript } from "../core/scripts";
import { Dns, DnsArgs } from "./dns";
import { Host } from "./host";
import { Registry, RegistryArgs } from "./registry";
import { localImage } from "./localImage";
import { Router, RouterArgs } from "./router";

export interface ManagerArgs {
    cloudName: string;
    /** FROM of the services image. */
    baseImage: string;
    /** The platform images are built for (config `platform`). */
    platform: string;
    /** The manager machine (its name and SSH connection ship the services image) and its bootstrapped Host. */
    machine: HostModel;
    host: Host;
    /** Repo root: images/services is the services image's build context. */
    projectDir: string;
    registry: Omit<RegistryArgs, "cloudName" | "manager" | "image">;
    dns: Omit<DnsArgs, "cloudName" | "manager" | "image">;
}

/**
 * The manager's services: one image (registry, dnsmasq, Varnish) built here from the base image
 * and shipped over SSH, since the registry cannot serve its own image. The router is added
 * with addRouter once the applications exist (see Router).
 */
export class Manager extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    /** The services image on this machine (FROM of the monitor's image) and its build. */
    readonly servicesImage: { name: string; built: pulumi.Resource };
    /** The services applications deploy through are up: the registry accepts pushes and DNS serves its name. */
    readonly ready: pulumi.Resource[];
    private readonly cloudName: string;
    private readonly host: Host;

    constructor(name: string, args: ManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Manager", name, {}, opts);
        const { cloudName, machine, host } = args;
        const context = path.join(args.projectDir, "images", "services");
        const { image: built, imageName } = localImage(
            `${name}-services-image`,
            { repository: `${cloudName}-services`, context, baseImage: args.baseImage, platform: args.platform },
            { parent: this },
        );
        const shipped = new command.local.Command(
            `${name}-services-image-ship`,
            {
                create: host.sshArgs.apply((sshArgs) =>
                    renderScript("ship-image", { host: machine.name, sshArgs, port: machine.ssh.port, user: machine.ssh.user, sshHost: machine.ssh.host, image: imageName }),
                ),
                triggers: [imageName],
            },
            { parent: this, dependsOn: [built, host.ready] },
        );
        this.image = pulumi.output(shipped.stdout).apply(() => imageName);
        this.servicesImage = { name: imageName, built };
        this.cloudName = cloudName;
        this.host = host;
        const common = { cloudName, manager: host, image: this.image };
        const registry = new Registry(`${name}-registry`, { ...common, ...args.registry }, { parent: this });
        const dns = new Dns(`${name}-dns`, { ...common, ...args.dns }, { parent: this });
        this.ready = [registry.ready, dns.ready];
        this.registerOutputs({ image: this.image, ready: this.ready });
    }

    /**
     * Image retention in the registry: after this deploy's rollout (`after`), each app keeps its
     * `keep` most recently pushed tags and the one in use; the rest is garbage-collected.
     */
    addImageRetention(name: string, args: { apps: { name: string; current: string }[]; keep: number; after: pulumi.Resource[] }): command.remote.Command {
        return new command.remote.Command(
            name,
            {
                connection: this.host.connection,
                create: renderScript("registry-gc", {
                    container: serviceContainerName(this.cloudName, "registry"),
                    root: paths.container.registryData,
                    config: paths.container.registryConfig,
                    keep: args.keep,
                    next: args.keep + 1,
                    apps: args.apps,
                }),
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [...this.ready, ...args.after] },
        );
    }

    /**
     * The digest an earlier build's tag points to in the registry (a rollback): nodes pull by
     * digest. Read from the registry's storage on the manager, where registry-gc finds tags too.
     */
    tagDigest(name: string, args: { app: string; tag: string }): pulumi.Output<string> {
        const resolved = new command.remote.Command(
            name,
            {
                connection: this.host.connection,
                create: renderScript("tag-digest", { container: serviceContainerName(this.cloudName, "registry"), root: paths.container.registryData, app: args.app, tag: args.tag }),
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: this.ready },
        );
        return resolved.stdout.apply((s) => s.trim());
    }

    /**
     * The router, added once the applications exist (its VCL is switched after their containers
     * start). Created here so it stays the manager's child: its URN is what it always was.
     */
    addRouter(name: string, args: Pick<RouterArgs, "bind" | "port" | "adminPort" | "vcl" | "backends" | "tls">): Router {
        return new Router(name, { cloudName: this.cloudName, manager: this.host, image: this.image, ...args }, { parent: this });
    }
}
