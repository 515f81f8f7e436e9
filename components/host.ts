import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { paths, registryCaPath } from "../core/layout";
import * as model from "../core/model";
import { renderScript, shq } from "../core/scripts";
import { knownHostsEntry, sshClientOptions } from "../core/ssh";
import { remoteFile } from "./remoteFile";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface HostArgs {
    host: model.Host;
    /** Rendered /etc/docker/daemon.json (trusts the registry). */
    daemonJson: string;
    /** Private key content (secret) for remote commands. */
    privateKey: pulumi.Input<string>;
    /** The same key as a private file, for the local ssh client the docker provider runs. */
    privateKeyPath: pulumi.Input<string>;
    /** The host's SSH public host key ("ssh-ed25519 AAAA…"): every connection verifies it. */
    hostKey: pulumi.Input<string>;
    /** Where the local ssh client's known_hosts entry for this host is kept. */
    knownHostsFile: string;
    /** Nodes: the firewall script (rendered) that limits what app containers reach. */
    firewall?: string;
    /** The CA dockerd trusts for the registry (`<manager fqdn>:<port>`): /etc/docker/certs.d/<address>/ca.crt. */
    registryCa: { address: string; certificate: pulumi.Input<string> };
    /** ssh mode: the host this one is dialed through (its connection, key file and pinned known_hosts). */
    via?: { ssh: model.SshConnection; privateKey: pulumi.Input<string>; privateKeyPath: pulumi.Input<string>; hostKey: pulumi.Input<string>; knownHostsFile: string };
    /** Registry credentials for pulls through this host's Docker provider. */
    registryAuth?: { address: string; username: string; password: pulumi.Input<string> };
}

/**
 * One machine of the cloud, reached over SSH: waits until it answers, bootstraps Docker
 * idempotently, and yields a Docker provider (ssh://) that every container on it uses.
 */
export class Host extends pulumi.ComponentResource {
    readonly connection: Connection;
    /** Bootstrapped: Docker installed, daemon.json current, dockerd answering. */
    readonly ready: command.remote.Command;
    readonly provider: docker.Provider;
    /** Options of the local ssh client for this host (key file, host-key policy). */
    readonly sshArgs: pulumi.Output<string[]>;
    /** The private key's file on this machine (a path, not secret): what `matrix` hands its ssh client. */
    readonly keyFile: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Host", name, {}, opts);
        const { host } = args;
        const via = args.via;
        // Through the jump host, whose key is verified too (unset, the provider would ignore it).
        const proxy = via && { host: via.ssh.host, port: via.ssh.port, user: via.ssh.user, privateKey: pulumi.secret(via.privateKey), hostKey: via.hostKey };
        const base = { host: host.ssh.host, port: host.ssh.port, user: host.ssh.user, privateKey: pulumi.secret(args.privateKey), hostKey: args.hostKey, ...(proxy ? { proxy } : {}) };

        // A freshly created host may not accept SSH yet: keep dialing, bounded by the timeout.
        const reachable = new command.remote.Command(
            `${name}-reachable`,
            { connection: { ...base, dialErrorLimit: -1, perDialTimeout: 5 }, create: "uname -n" },
            { parent: this, customTimeouts: { create: "5m" } },
        );

        this.ready = new command.remote.Command(
            `${name}-bootstrap`,
            {
                connection: { ...base, dialErrorLimit: 10, perDialTimeout: 15 },
                create: renderScript("bootstrap-host", { host: host.name, daemonJson: paths.host.daemonJson, ours: paths.host.daemonJsonOurs }),
                stdin: args.daemonJson,
                triggers: [contentHash(args.daemonJson)],
            },
            { parent: this, dependsOn: [reachable] },
        );
        // The address is derived from the bootstrap, so every command on this host depends on it:
        // created after it and, on destroy, deleted while the host is still there. A plain object,
        // not one Output, so that only the key is secret.
        this.connection = { ...base, host: this.ready.id.apply(() => host.ssh.host), dialErrorLimit: 10, perDialTimeout: 15 };

        // Before any container of this host starts: an app must never run unconfined.
        const firewall = args.firewall === undefined ? [] : [this.applyFirewall(name, args.firewall)];
        // Before any pull: dockerd reads certs.d at each connection to the registry, no restart needed.
        const registryCa = remoteFile(
            `${name}-registry-ca`,
            { connection: this.connection, file: registryCaPath(args.registryCa.address), content: args.registryCa.certificate },
            { parent: this },
        );

        // The local ssh client (docker provider, image shipping) checks the same pinned key.
        const knownHost = new command.local.Command(
            `${name}-known-host`,
            {
                create: pulumi.output(args.hostKey).apply((k) => renderScript("known-host", { host: host.name, file: args.knownHostsFile, entry: knownHostsEntry(host.ssh.host, host.ssh.port, k) })),
                delete: `rm -f ${shq(args.knownHostsFile)}`,
                addPreviousOutputInEnv: false,
            },
            { parent: this },
        );
        // The key travels as a file path for the local ssh client, never inside a URL.
        this.keyFile = pulumi.unsecret(pulumi.output(args.privateKeyPath));
        this.sshArgs = pulumi
            .all([this.keyFile, knownHost.stdout, via ? pulumi.unsecret(pulumi.output(via.privateKeyPath)) : ""])
            .apply(([key, , viaKey]) =>
                sshClientOptions(key, args.knownHostsFile, via && { host: via.ssh.host, port: via.ssh.port, user: via.ssh.user, keyFile: viaKey, knownHostsFile: via.knownHostsFile }),
            );
        this.provider = new docker.Provider(
            `${name}-docker`,
            {
                host: `ssh://${host.ssh.user}@${host.ssh.host}:${host.ssh.port}`,
                sshOpts: this.sshArgs,
                registryAuth: args.registryAuth && [{ ...args.registryAuth, password: pulumi.secret(args.registryAuth.password) }],
            },
            { parent: this, dependsOn: [this.ready, ...firewall, registryCa.command] },
        );
        this.registerOutputs({ connection: this.connection, ready: this.ready, provider: this.provider, sshArgs: this.sshArgs, keyFile: this.keyFile });
    }

    /** Installs the firewall script and applies it; a new script applies again, and delete removes the rules. */
    private applyFirewall(name: string, script: string): command.remote.Command {
        const file = remoteFile(`${name}-firewall`, { connection: this.connection, file: paths.host.firewall, content: script }, { parent: this });
        return new command.remote.Command(
            `${name}-firewall-apply`,
            {
                connection: this.connection,
                // The hash makes a changed script an update, which runs create again.
                create: pulumi.interpolate`sh ${paths.host.firewall} apply # ${file.hash}`,
                delete: `sh ${paths.host.firewall} remove`,
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [file.command] },
        );
    }
}
