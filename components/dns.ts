import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { capabilities } from "../core/docker-forms";
import { paths, serviceContainerName } from "../core/layout";
import { renderScript } from "../core/scripts";
import { Host } from "./host";
import { remoteFile } from "./remoteFile";

export interface DnsArgs {
    cloudName: string;
    manager: Host;
    image: pulumi.Input<string>;
    /** Rendered dnsmasq.conf (a change restarts dnsmasq), hosts records and DHCP fixed leases (a change is reloaded). */
    conf: string;
    records: string;
    dhcpHosts: string;
}

/**
 * dnsmasq on the manager: DNS for the private domain (and DHCP in ssh mode, hence host networking).
 * Records live in a hosts file that a SIGHUP reloads, so adding a node or app never restarts DNS.
 */
export class Dns extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** Current records are being served. */
    readonly ready: pulumi.Resource;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Dns", name, {}, opts);
        const { manager } = args;
        const containerName = serviceContainerName(args.cloudName, "dns");
        const conf = remoteFile(`${name}-config`, { connection: manager.connection, file: paths.host.dnsmasqConf, content: args.conf }, { parent: this });
        const records = remoteFile(`${name}-records`, { connection: manager.connection, file: paths.host.dnsHosts, content: args.records }, { parent: this });
        const dhcpHosts = remoteFile(`${name}-dhcp-hosts`, { connection: manager.connection, file: paths.host.dhcpHosts, content: args.dhcpHosts }, { parent: this });
        const leases = new docker.Volume(`${name}-leases`, { name: `${args.cloudName}-dns-leases` }, { parent: this, provider: manager.provider });
        this.container = new docker.Container(
            name,
            {
                name: containerName,
                image: args.image,
                command: ["matrix-dns"],
                networkMode: "host",
                capabilities: capabilities({ adds: ["NET_ADMIN", "NET_RAW"] }),
                mounts: [
                    { type: "bind", source: paths.host.dnsDir, target: paths.container.dnsDir, readOnly: true },
                    { type: "volume", source: leases.name, target: paths.container.dnsLeasesDir },
                ],
                restart: "unless-stopped",
                // dnsmasq.conf cannot be reloaded: a change re-creates the container.
                labels: [{ label: "matrix.config-hash", value: conf.hash }],
            },
            { parent: this, provider: manager.provider, dependsOn: [conf.command, records.command, dhcpHosts.command], deleteBeforeReplace: true },
        );
        this.ready = new command.remote.Command(
            `${name}-reload`,
            {
                connection: manager.connection,
                create: renderScript("signal-container", { why: "reload the DNS records and DHCP fixed leases without a restart", signal: "HUP", container: containerName }),
                triggers: [records.hash, dhcpHosts.hash, this.container.id],
            },
            { parent: this, dependsOn: [this.container, records.command, dhcpHosts.command] },
        );
        this.registerOutputs({ container: this.container, ready: this.ready });
    }
}
