import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { memoryLimits } from "../core/docker-forms";
import { contentHash } from "../core/hash";
import { cadvisorContainerName, paths, serviceContainerName } from "../core/layout";
import { Host as HostModel, Model } from "../core/model";
import { cadvisorArgs, MONITOR_CONFIG, VARNISH_DIR } from "../core/monitoring";
import { renderScript } from "../core/scripts";
import { directoryHash } from "./directoryHash";
import { Host } from "./host";
import { localImage } from "./localImage";
import { remoteFile } from "./remoteFile";

/** What scripts/build-cadvisor.sh leaves in the image build contexts (relative to the project; git-ignored). */
export const MONITORING_BINARIES = {
    cadvisor: { context: "images/cadvisor", outputs: ["cadvisor"] },
    monitor: { context: "images/monitor", outputs: ["matrix-monitor", "uPlot.iife.min.js", "uPlot.min.css"] },
};

/**
 * The hash of everything scripts/build-cadvisor.sh builds from, for the binaries wanted: the
 * script, the Go modules' sources (toolchain/go/cadvisor, monitor/) and the chart library's
 * version. Read on this machine before any resource; none of it needs a build to have run.
 */
export function monitoringSourcesHash(projectDir: string, which: readonly ("cadvisor" | "monitor")[]): string {
    const at = (...p: string[]) => path.join(projectDir, ...p);
    // Sources of this checkout, not build outputs: missing, the checkout is incomplete.
    const source = (...p: string[]) => {
        if (!fs.existsSync(at(...p))) throw new pulumi.RunError(`${path.join(...p)} is missing from this checkout: scripts/build-cadvisor.sh builds the monitoring binaries from it`);
        return at(...p);
    };
    const uplot = at("node_modules", "uplot", "package.json");
    const parts = [
        which.join(","),
        fs.readFileSync(source("scripts", "build-cadvisor.sh"), "utf8"),
        ...(which.includes("cadvisor") ? [directoryHash(source("toolchain", "go", "cadvisor"))] : []),
        ...(which.includes("monitor") ? [directoryHash(source("monitor")), fs.existsSync(uplot) ? JSON.parse(fs.readFileSync(uplot, "utf8")).version : ""] : []),
    ];
    return contentHash(JSON.stringify(parts));
}

export interface MonitoringArgs {
    model: Model;
    /** Repo root: images/cadvisor and images/monitor are build contexts (scripts/build-cadvisor.sh fills them). */
    projectDir: string;
    /** Bootstrapped hosts by name: every node runs cAdvisor; the manager runs the monitor. */
    hosts: Record<string, Host>;
    /** Where nodes pull (address) and this machine pushes (pushAddress), with the registry's credentials. */
    registry: { address: string; pushAddress: string; auth: { username: string; password: pulumi.Input<string> } };
    /** The registry accepts pushes. */
    managerReady: pulumi.Resource[];
    /** The services image (FROM of the monitor's: it has varnishadm and varnishstat), built on this machine. */
    servicesImage: { name: string; built: pulumi.Resource };
    /** The monitor's config (core/monitoring.ts renderMonitorConfig). */
    config: pulumi.Input<string>;
    /** The volume holding varnishd's working directory and CLI secret (shared read-only), and the router using it. */
    varnishVolume: pulumi.Input<string>;
    router: pulumi.Resource;
}

/**
 * The binaries (cAdvisor's front, the monitor) built on this machine during `up` by
 * scripts/build-cadvisor.sh, again only when their sources change (it needs Go; a preview runs
 * no command and builds no image, so nothing needs them before); then cAdvisor on every node
 * (the image built here from a static binary and pushed to the cloud's registry, pulled by
 * digest; or monitoring.cadvisorImage) and, on the manager, the monitor:
 * it polls every cAdvisor and the router, keeps a short history in memory and serves the API and
 * status page on monitoring.bind:monitoring.port.
 */
export class Monitoring extends pulumi.ComponentResource {
    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Monitoring", name, {}, opts);
        const { model, registry } = args;
        const cloudName = model.cloudName;
        const m = model.monitoring;

        const wanted = m.cadvisorImage ? (["monitor"] as const) : (["cadvisor", "monitor"] as const);
        // The build's trigger, and part of the images' tags.
        const sourcesHash = monitoringSourcesHash(args.projectDir, wanted);
        const binaries = new command.local.Command(
            `${name}-binaries`,
            { create: renderScript("build-binaries", { script: "./scripts/build-cadvisor.sh", binaries: [...wanted], sources: sourcesHash }), dir: args.projectDir, triggers: [sourcesHash] },
            { parent: this },
        );
        /** A context's hash without the binaries placed in it (their sources' hash stands for them): the same before and after the build. */
        const contextHash = (b: { context: string; outputs: string[] }) => directoryHash(path.join(args.projectDir, b.context), b.outputs) + sourcesHash;

        let cadvisorRef: pulumi.Output<string>;
        let pushed: pulumi.Resource[] = args.managerReady;
        if (m.cadvisorImage) {
            cadvisorRef = pulumi.output(m.cadvisorImage);
        } else {
            const context = path.join(args.projectDir, MONITORING_BINARIES.cadvisor.context);
            // Tagged by the context and base image, as the app images are by their sources.
            const image = new docker.Image(
                `${name}-cadvisor-image`,
                {
                    imageName: `${registry.pushAddress}/${cloudName}-cadvisor:${contentHash(contextHash(MONITORING_BINARIES.cadvisor) + model.baseImage)}`,
                    build: { context, args: { BASE_IMAGE: model.baseImage }, platform: model.platform },
                    registry: { server: registry.pushAddress, username: registry.auth.username, password: registry.auth.password },
                },
                { parent: this, dependsOn: [...args.managerReady, binaries] },
            );
            pushed = [image];
            cadvisorRef = image.repoDigest.apply((d) => `${registry.address}/${cloudName}-cadvisor@${d.slice(d.indexOf("@") + 1)}`);
        }
        for (const node of model.nodes) this.cadvisor(name, node, args.hosts[node.name], cadvisorRef, pushed, model);

        // The monitor: built on the services image, shipped to the manager over SSH as the services image is.
        const manager = model.manager;
        const host = args.hosts[manager.name];
        const { image: built, imageName } = localImage(
            `${name}-monitor-image`,
            { repository: `${cloudName}-monitor`, context: path.join(args.projectDir, MONITORING_BINARIES.monitor.context), baseImage: args.servicesImage.name, platform: model.platform, contextHash: contextHash(MONITORING_BINARIES.monitor) },
            { parent: this, dependsOn: [args.servicesImage.built, binaries] },
        );
        const shipped = new command.local.Command(
            `${name}-monitor-image-ship`,
            {
                create: host.sshArgs.apply((sshArgs) =>
                    renderScript("ship-image", { host: manager.name, sshArgs, port: manager.ssh.port, user: manager.ssh.user, sshHost: manager.ssh.host, image: imageName }),
                ),
                triggers: [imageName],
            },
            { parent: this, dependsOn: [built, host.ready] },
        );
        const config = remoteFile(`${name}-monitor-config`, { connection: host.connection, file: paths.host.monitorConfig, content: args.config }, { parent: this });
        new docker.Container(
            `${name}-monitor`,
            {
                name: serviceContainerName(cloudName, "monitor"),
                image: pulumi.output(shipped.stdout).apply(() => imageName),
                command: ["--config", MONITOR_CONFIG],
                // Host networking, as the router: it listens on monitoring.bind and reaches every node's private address.
                networkMode: "host",
                mounts: [
                    { type: "bind", source: paths.host.monitorDir, target: path.posix.dirname(MONITOR_CONFIG), readOnly: true },
                    { type: "volume", source: args.varnishVolume, target: VARNISH_DIR, readOnly: true },
                ],
                restart: "unless-stopped",
                // No config hash here: the monitor re-reads a changed config itself, keeping its history.
                ...memoryLimits(128),
            },
            { parent: this, provider: host.provider, dependsOn: [config.command, args.router], deleteBeforeReplace: true },
        );
        this.registerOutputs({});
    }

    /** cAdvisor on one node, listening on the node's private address only, with the mounts cAdvisor documents. */
    private cadvisor(name: string, node: HostModel, host: Host, ref: pulumi.Output<string>, pushed: pulumi.Resource[], model: Model): void {
        const image = new docker.RemoteImage(`${name}-cadvisor@${node.name}`, { name: ref, keepLocally: true }, { parent: this, provider: host.provider, dependsOn: pushed });
        new docker.Container(
            `${name}-cadvisor@${node.name}`,
            {
                name: cadvisorContainerName(model.cloudName),
                image: image.imageId,
                command: cadvisorArgs(model, node.address),
                // Host networking: it binds the private address itself and sees the host's interfaces.
                networkMode: "host",
                mounts: [
                    { type: "bind", source: "/", target: "/rootfs", readOnly: true },
                    { type: "bind", source: "/var/run", target: "/var/run", readOnly: true },
                    { type: "bind", source: "/sys", target: "/sys", readOnly: true },
                    { type: "bind", source: "/var/lib/docker", target: "/var/lib/docker", readOnly: true },
                ],
                restart: "unless-stopped",
                // Bounded: a monitoring agent must not take what the apps need.
                ...memoryLimits(256),
                labels: [{ label: "matrix.cloud", value: model.cloudName }],
            },
            { parent: this, provider: host.provider, deleteBeforeReplace: true },
        );
    }
}
