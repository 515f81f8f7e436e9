import * as command from "@pulumi/command";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Model } from "../core/model";
import { renderScript } from "../core/scripts";
import { Dns } from "./dns";
import { Host } from "./host";
import { Registry } from "./registry";
import { localImage } from "./localImage";

export interface ManagerArgs {
    model: Model;
    host: Host;
    /** Repo root: images/services is the services image's build context. */
    projectDir: string;
    registryPassword?: pulumi.Input<string>;
}

/**
 * The manager's services: one image (registry, dnsmasq, Varnish) built here from the base image
 * and shipped over SSH, since the registry cannot serve its own image. The router is added by
 * the cloud once the applications exist (see Router).
 */
export class Manager extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    readonly registry: Registry;
    readonly dns: Dns;

    constructor(name: string, args: ManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Manager", name, {}, opts);
        const { model, host } = args;
        const context = path.join(args.projectDir, "images", "services");
        const { image: built, imageName } = localImage(
            `${name}-services-image`,
            { repository: `${model.cloudName}-services`, context, baseImage: model.baseImage },
            { parent: this },
        );
        const shipped = new command.local.Command(
            `${name}-services-image-ship`,
            {
                create: host.sshArgs.apply((sshArgs) =>
                    renderScript("ship-image", { host: model.manager.name, sshArgs, port: model.manager.ssh.port, user: model.manager.ssh.user, sshHost: model.manager.ssh.host, image: imageName }),
                ),
                triggers: [imageName],
            },
            { parent: this, dependsOn: [built, host.ready] },
        );
        this.image = pulumi.output(shipped.stdout).apply(() => imageName);
        const common = { model, manager: host, image: this.image };
        this.registry = new Registry(`${name}-registry`, { ...common, password: args.registryPassword }, { parent: this });
        this.dns = new Dns(`${name}-dns`, common, { parent: this });
        this.registerOutputs({ image: this.image });
    }
}
