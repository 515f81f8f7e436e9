import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { paths, serviceContainerName } from "../core/layout";
import { renderScript } from "../core/scripts";
import { VARNISH_DIR, VARNISH_SECRET } from "../core/monitoring";
import { joinPem } from "../core/tls";
import { Host } from "./host";
import { remoteFile } from "./remoteFile";

export interface RouterArgs {
    cloudName: string;
    manager: Host;
    image: pulumi.Input<string>;
    /** varnishd's listening address (unset: every address) and port, and its (loopback) management port. */
    bind?: string;
    port: number;
    adminPort: number;
    /** Rendered VCL (its backends' ports are known once their replicas have one). */
    vcl: pulumi.Input<string>;
    /** The new routes' replicas are healthy: the VCL is written and switched only after them. */
    backends: pulumi.Resource[];
    /** HTTPS: hitch (rendered hitch.conf) in front of Varnish's PROXY listener on 127.0.0.1:proxyPort. */
    tls?: { proxyPort: number; conf: string; certificate: pulumi.Input<string>; key: pulumi.Input<string> };
}

/**
 * Varnish on the manager. The container is never restarted for a route change: a new VCL
 * file is written, then loaded into the running varnishd with vcl.load + vcl.use. With TLS, a
 * second container runs hitch, which terminates HTTPS and forwards each connection to Varnish
 * with the PROXY protocol; a new certificate is reloaded into it (SIGHUP) without a restart.
 */
export class Router extends pulumi.ComponentResource {
    /** Name of the VCL loaded into varnishd (derived from its content). */
    readonly vcl: pulumi.Output<string>;
    /** The volume of varnishd's working directory and CLI secret, which the monitor mounts read-only. */
    readonly varnishVolume: pulumi.Output<string>;
    readonly container: docker.Container;

    constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Router", name, {}, opts);
        const { manager } = args;
        // Staged, not live: vcl-load makes it default.vcl (what a varnishd restart loads) only once
        // Varnish compiled and loaded it. Not written before the replicas it names are healthy.
        const file = remoteFile(
            `${name}-vcl`,
            { connection: manager.connection, file: paths.host.vclStaged, content: args.vcl, removeAlso: [paths.host.vcl] },
            { parent: this, dependsOn: args.backends },
        );
        const containerName = serviceContainerName(args.cloudName, "router");
        // tmpfs: varnishd rewrites its shared memory log constantly; it need not reach the disk.
        const volume = new docker.Volume(
            `${name}-workdir`,
            { name: `${args.cloudName}-varnish`, driver: "local", driverOpts: { type: "tmpfs", device: "tmpfs", o: "size=256m" } },
            { parent: this, provider: manager.provider },
        );
        this.varnishVolume = volume.name;
        const container = new docker.Container(
            name,
            {
                name: containerName,
                image: args.image,
                command: ["matrix-varnish"],
                // Host networking: no userland proxy in the request path; the admin port binds 127.0.0.1 only.
                networkMode: "host",
                envs: [
                    ...(args.bind ? [`ROUTER_ADDRESS=${args.bind}`] : []),
                    `ROUTER_PORT=${args.port}`,
                    `ADMIN_PORT=${args.adminPort}`,
                    ...(args.tls ? [`TLS_PROXY_PORT=${args.tls.proxyPort}`] : []),
                    `VARNISH_SECRET=${VARNISH_SECRET}`,
                ],
                mounts: [
                    { type: "bind", source: paths.host.routerDir, target: paths.container.routerDir, readOnly: true },
                    { type: "volume", source: volume.name, target: VARNISH_DIR },
                ],
                restart: "unless-stopped",
            },
            // Deliberately independent of the VCL content: route changes must not replace it.
            { parent: this, provider: manager.provider, dependsOn: [file.command], deleteBeforeReplace: true },
        );
        this.container = container;
        this.vcl = pulumi.interpolate`matrix_${file.hash}`;
        new command.remote.Command(
            `${name}-vcl-load`,
            {
                connection: manager.connection,
                create: this.vcl.apply((vcl) =>
                    renderScript("vcl-load", { container: containerName, name: vcl, staged: paths.container.vclStaged, hostStaged: paths.host.vclStaged, hostLive: paths.host.vcl }),
                ),
                triggers: [file.hash, container.id],
            },
            { parent: this, dependsOn: [container, file.command, ...args.backends] },
        );
        if (args.tls) this.terminateTls(name, args.cloudName, manager, args.image, args.tls, container);
        this.registerOutputs({ vcl: this.vcl, varnishVolume: this.varnishVolume, container: this.container });
    }

    /** hitch on the manager (host network), its config and its PEM (certificate and key, root only). */
    private terminateTls(name: string, cloudName: string, manager: Host, image: pulumi.Input<string>, tls: NonNullable<RouterArgs["tls"]>, router: docker.Container): void {
        const conf = remoteFile(`${name}-tls-config`, { connection: manager.connection, file: paths.host.hitchConf, content: tls.conf }, { parent: this });
        const pem = remoteFile(
            `${name}-tls-pem`,
            { connection: manager.connection, file: paths.host.routerPem, content: pulumi.secret(pulumi.all([tls.certificate, tls.key]).apply(([cert, key]) => joinPem(cert, key))), private: true },
            { parent: this },
        );
        const containerName = serviceContainerName(cloudName, "tls");
        const container = new docker.Container(
            `${name}-tls`,
            {
                name: containerName,
                image,
                command: ["matrix-hitch"],
                networkMode: "host",
                mounts: [{ type: "bind", source: paths.host.tlsDir, target: paths.container.tlsDir, readOnly: true }],
                restart: "unless-stopped",
                // hitch.conf changes (port, bind address) re-create it; certificates are reloaded below.
                labels: [{ label: "matrix.config-hash", value: conf.hash }],
            },
            { parent: this, provider: manager.provider, dependsOn: [conf.command, pem.command, router], deleteBeforeReplace: true },
        );
        new command.remote.Command(
            `${name}-tls-reload`,
            {
                connection: manager.connection,
                create: renderScript("signal-container", { why: "reload the router's certificate without dropping connections", signal: "HUP", container: containerName }),
                // The certificate's hash (public): a new key always comes with a new certificate.
                triggers: [pulumi.output(tls.certificate).apply(contentHash), container.id],
            },
            { parent: this, dependsOn: [container, pem.command] },
        );
    }
}
