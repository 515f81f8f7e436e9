import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { paths, serviceContainerName } from "../core/layout";
import { renderScript } from "../core/scripts";
import { Host } from "./host";
import { remoteFile } from "./remoteFile";

export interface RegistryArgs {
    cloudName: string;
    manager: Host;
    /** The services image, already present on the manager. */
    image: pulumi.Input<string>;
    /** Where it listens: the manager's private address. */
    address: string;
    port: number;
    /** Rendered config.yml. */
    config: string;
    /** The credentials it requires (pushes and pulls); the password is secret. */
    auth: { username: string; password: pulumi.Input<string> };
    /** Its HTTPS certificate (from the cloud's CA) and key (secret). */
    tls: { certificate: pulumi.Input<string>; key: pulumi.Input<string> };
}

/** The private Docker registry on the manager: config, htpasswd, a data volume, the container. */
export class Registry extends pulumi.ComponentResource {
    /** The registry accepts connections: pushes may start. */
    readonly ready: command.remote.Command;

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Registry", name, {}, opts);
        const { cloudName, manager, auth } = args;
        const config = remoteFile(`${name}-config`, { connection: manager.connection, file: paths.host.registryConfig, content: args.config }, { parent: this });
        // The password only ever travels on stdin, and the command logs nothing.
        const htpasswd = new command.remote.Command(
            `${name}-htpasswd`,
            {
                connection: manager.connection,
                create: pulumi.output(args.image).apply((image) => renderScript("htpasswd", { file: paths.host.registryHtpasswd, image, user: auth.username })),
                stdin: pulumi.secret(auth.password),
                logging: "none",
            },
            { parent: this, additionalSecretOutputs: ["stdout", "stderr"] },
        );
        // The key is readable by root only (the registry runs as root in its container).
        const certificate = remoteFile(`${name}-certificate`, { connection: manager.connection, file: paths.host.registryCertificate, content: args.tls.certificate }, { parent: this });
        const key = remoteFile(`${name}-key`, { connection: manager.connection, file: paths.host.registryKey, content: args.tls.key, private: true }, { parent: this });
        const inputs: pulumi.Resource[] = [config.command, htpasswd, certificate.command, key.command];
        const data = new docker.Volume(`${name}-data`, { name: `${cloudName}-registry-data` }, { parent: this, provider: manager.provider });
        const container = new docker.Container(
            name,
            {
                name: serviceContainerName(cloudName, "registry"),
                image: args.image,
                command: ["matrix-registry"],
                networkMode: "host",
                mounts: [
                    { type: "bind", source: paths.host.registryDir, target: paths.container.registryDir, readOnly: true },
                    { type: "volume", source: data.name, target: paths.container.registryData },
                ],
                restart: "unless-stopped",
                // A config or certificate change re-creates the container (the registry cannot reload);
                // data stays in the volume. A new key always comes with a new certificate.
                labels: [{ label: "matrix.config-hash", value: pulumi.interpolate`${config.hash}-${certificate.hash}` }],
            },
            { parent: this, provider: manager.provider, dependsOn: inputs, deleteBeforeReplace: true },
        );
        this.ready = new command.remote.Command(
            `${name}-ready`,
            { connection: manager.connection, create: renderScript("wait-port", { what: "registry", address: args.address, port: args.port, attempts: 120 }), triggers: [container.id] },
            { parent: this, dependsOn: [container] },
        );
        this.registerOutputs({ ready: this.ready });
    }
}
