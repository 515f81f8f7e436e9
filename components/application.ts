import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { appContainerName, replicaResourceName } from "../core/layout";
import { Application as App } from "../core/model";
import { Host } from "./host";

export interface ApplicationArgs {
    cloudName: string;
    app: App;
    /** Where nodes pull (address) and this machine pushes (pushAddress); auth when the registry requires it. */
    registry: { address: string; pushAddress: string; auth?: { username: string; password: pulumi.Input<string> } };
    /** The Hosts of the nodes the app's replicas run on, by node name. */
    nodes: Record<string, Host>;
    /** Secret config values by key (env secrets). */
    secret: (key: string) => pulumi.Output<string>;
    /** The manager's services are ready: the registry accepts pushes and DNS serves its name. */
    managerReady: pulumi.Resource[];
}

/**
 * One application: its image (built here from a directory and pushed to the manager's registry,
 * or an existing reference), pulled by each node it is placed on, and one container per replica.
 * Resource names derive from the app and node names only.
 */
export class Application extends pulumi.ComponentResource {
    readonly containers: docker.Container[] = [];
    readonly imageRef: string;

    constructor(name: string, args: ApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Application", name, {}, opts);
        const { cloudName, app, registry } = args;
        const auth = registry.auth;
        let pushed: pulumi.Resource[] = args.managerReady;
        if (app.source.kind === "build") {
            // The tag is the content hash of the build context: unchanged sources, no rebuild.
            const repo = `${app.name}:${app.source.hash}`;
            this.imageRef = `${registry.address}/${repo}`;
            pushed = [
                new docker.Image(
                    `${name}-image`,
                    {
                        imageName: `${registry.pushAddress}/${repo}`,
                        build: { context: app.source.dir, dockerfile: path.join(app.source.dir, app.source.dockerfile), args: app.source.args },
                        registry: auth ? { server: registry.pushAddress, username: auth.username, password: auth.password } : undefined,
                    },
                    { parent: this, dependsOn: args.managerReady },
                ),
            ];
        } else {
            this.imageRef = app.source.ref;
        }

        const envs = app.env.map((e) => ("value" in e ? pulumi.output(`${e.name}=${e.value}`) : pulumi.interpolate`${e.name}=${args.secret(e.secret)}`));
        for (const replica of app.replicas) {
            const node = args.nodes[replica.node];
            const image = new docker.RemoteImage(
                replicaResourceName(name, replica.node),
                { name: this.imageRef, keepLocally: true },
                { parent: this, provider: node.provider, dependsOn: pushed },
            );
            this.containers.push(
                new docker.Container(
                    replicaResourceName(name, replica.node),
                    {
                        name: appContainerName(cloudName, app.name, replica.node),
                        image: image.imageId,
                        envs: [`MATRIX_APP=${app.name}`, `MATRIX_NODE=${replica.node}`, `MATRIX_CLOUD=${cloudName}`, ...envs],
                        ports: [{ internal: app.containerPort, external: replica.hostPort, ip: replica.address }],
                        memory: app.memory,
                        // Docker's own default, stated: the provider reads MemorySwap back, so
                        // leaving it out shows a change on every refresh and second up.
                        memorySwap: app.memory === undefined ? undefined : app.memory * 2,
                        memoryReservation: app.memoryReservation,
                        // The provider reads whole CPUs back as "1.0"; "1" would replace the container every up.
                        cpus: app.cpus === undefined ? undefined : Number.isInteger(app.cpus) ? app.cpus.toFixed(1) : String(app.cpus),
                        cpuSet: app.cpuset,
                        restart: app.restart,
                        // An init as PID 1 forwards SIGTERM, so replicas stop in well under Docker's 10 s grace.
                        init: true,
                        labels: [
                            { label: "matrix.cloud", value: cloudName },
                            { label: "matrix.app", value: app.name },
                            { label: "matrix.node", value: replica.node },
                        ],
                    },
                    { parent: this, provider: node.provider, deleteBeforeReplace: true },
                ),
            );
        }
        this.registerOutputs({ containers: this.containers, imageRef: this.imageRef });
    }
}
