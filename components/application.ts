import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as forms from "../core/docker-forms";
import { appContainerName, replicaResourceName } from "../core/layout";
import { Application as App } from "../core/model";
import { healthTest, replicaVersion } from "../core/replica";
import { renderScript } from "../core/scripts";
import { Host } from "./host";

export interface ApplicationArgs {
    cloudName: string;
    app: App;
    /** The platform the app's image is built for (config `platform`). */
    platform: string;
    /** Where nodes pull (address) and this machine pushes (pushAddress); auth when the registry requires it; images kept per app. */
    registry: { address: string; pushAddress: string; auth: { username: string; password: pulumi.Input<string> }; keep: number };
    /** A pinned version (rollback): the digest its tag points to in the registry. */
    pinnedDigest?: pulumi.Input<string>;
    /** Range the host port of a new replica version is picked from. */
    hostPorts: { start: number; end: number };
    /** Fixed host ports (config hostPort, plan file) of every app, by node: never picked. */
    fixedPorts: Record<string, number[]>;
    /** The Hosts of the nodes the app's replicas run on, by node name. */
    nodes: Record<string, Host>;
    /** Secret config values by key (env secrets). */
    secret: (key: string) => pulumi.Output<string>;
    /** The manager's services are ready: the registry accepts pushes and DNS serves its name. */
    managerReady: pulumi.Resource[];
}

/** One replica as the router sees it: where it listens, and the gate that says it is healthy. */
export interface ReplicaEndpoint {
    node: string;
    address: string;
    hostPort: pulumi.Output<number>;
    /** Container name (secret when the app has secret env values: they count in its version). */
    container: pulumi.Output<string>;
    /** Passes once the replica's health check does (see templates/scripts/wait-healthy.sh.hbs). */
    healthy: command.remote.Command;
}

/**
 * One application: its image (built here from a directory and pushed to the manager's registry,
 * an earlier build pinned by `version`, or an existing reference), pulled by each node it is
 * placed on, and one container per replica.
 *
 * Updates are rolling and start-first: a changed replica is a create-before-delete replacement
 * whose new container (named by its version, on a newly picked host port) starts beside the old
 * one; `pulumi up` waits until it is healthy, `parallelism` replicas at a time; the router
 * switches to the new replicas only once all are healthy, and the engine deletes the old ones
 * last (after the switch), each stopped with its stop signal so in-flight requests finish.
 * Resource names derive from the app and node names only.
 */
export class Application extends pulumi.ComponentResource {
    readonly replicas: ReplicaEndpoint[] = [];
    /** The image build and push, when this deploy builds one. */
    readonly image?: docker.Image;
    /** What nodes pull: a built or pinned image by digest (a tag could be moved), else the configured reference. */
    readonly imageRef: pulumi.Output<string>;
    /** What a rollback pins: the build's tag (config `version`), or the image reference. */
    readonly version: string;

    constructor(name: string, args: ApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Application", name, {}, opts);
        const { cloudName, app, registry } = args;
        const auth = registry.auth;
        let pushed: pulumi.Resource[] = args.managerReady;
        if (app.source.kind === "build") {
            // The tag is the content hash of the build definition: unchanged sources, no rebuild.
            this.image = new docker.Image(
                `${name}-image`,
                {
                    imageName: `${registry.pushAddress}/${app.name}:${app.source.hash}`,
                    build: { context: app.source.dir, dockerfile: path.join(app.source.dir, app.source.dockerfile), args: app.source.args, platform: args.platform },
                    registry: { server: registry.pushAddress, username: auth.username, password: auth.password },
                },
                { parent: this, dependsOn: args.managerReady },
            );
            pushed = [this.image];
            // repoDigest names the push address; nodes pull the same digest from the registry's own name.
            this.imageRef = this.image.repoDigest.apply((d) => `${registry.address}/${app.name}@${d.slice(d.indexOf("@") + 1)}`);
        } else if (app.source.kind === "pinned") {
            this.imageRef = pulumi.interpolate`${registry.address}/${app.name}@${args.pinnedDigest!}`;
        } else {
            this.imageRef = pulumi.output(app.source.ref);
        }
        this.version = app.source.kind === "build" ? app.source.hash : app.source.kind === "pinned" ? app.source.tag : app.source.ref;

        const envs = app.env.map((e) => ("value" in e ? pulumi.output(`${e.name}=${e.value}`) : pulumi.interpolate`${e.name}=${args.secret(e.secret)}`));
        const limits = {
            ...forms.memoryLimits(app.memory, app.memoryReservation),
            cpus: forms.cpus(app.cpus),
            cpuSet: app.cpuset,
        };
        const h = app.health;
        const healthcheck = { tests: healthTest(app), interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.startPeriod };

        app.replicas.forEach((replica, i) => {
            const node = args.nodes[replica.node];
            const rname = replicaResourceName(name, replica.node);
            const image = new docker.RemoteImage(rname, { name: this.imageRef, keepLocally: true }, { parent: this, provider: node.provider, dependsOn: pushed });
            const env = [`MATRIX_APP=${app.name}`, `MATRIX_NODE=${replica.node}`, `MATRIX_CLOUD=${cloudName}`];
            // Where it is published counts too: a new port under an unchanged name could not be
            // created beside the old container.
            const publish = replica.fixedPort ? { address: replica.address, hostPort: replica.hostPort } : { address: replica.address, preferred: replica.hostPort, ...args.hostPorts };
            const version = pulumi
                .all([image.imageId, pulumi.all(envs)])
                .apply(([imageId, secretEnv]) =>
                    replicaVersion({ imageId, env: [...env, ...secretEnv], port: app.containerPort, publish, limits, healthcheck, security: app.security, restart: app.restart }),
                );

            // A fixed port cannot be shared by two versions: such a replica is replaced stop-first.
            const hostPort = replica.fixedPort
                ? pulumi.output(replica.hostPort)
                : new command.remote.Command(
                      `${rname}-port`,
                      {
                          connection: node.connection,
                          ...onStdin(
                              renderScript("pick-port", { app: app.name, preferred: replica.hostPort, ...args.hostPorts, fixed: (args.fixedPorts[replica.node] ?? []).join(" ") }),
                          ),
                          // A new version, a new port: picked while the old replica still holds its own.
                          triggers: [version],
                          addPreviousOutputInEnv: false,
                      },
                      // Only a new version picks again (its inputs are in the version); re-running
                      // the pick for the same version would move its port under its name.
                      { parent: this, ignoreChanges: ["stdin"] },
                  ).stdout.apply((s) => Number(s.trim()));

            // One rolling wave after another: replica i starts once replica i - parallelism is healthy.
            const previous = this.replicas[i - app.update.parallelism]?.healthy;
            const container = new docker.Container(
                rname,
                {
                    name: pulumi.interpolate`${appContainerName(cloudName, app.name, replica.node)}-${version}`,
                    image: image.imageId,
                    envs: [...env, ...envs],
                    ports: [{ internal: app.containerPort, external: hostPort, ip: replica.address }],
                    ...limits,
                    restart: app.restart,
                    healthcheck,
                    securityOpts: app.security.noNewPrivileges ? ["no-new-privileges"] : [],
                    capabilities: forms.capabilities({ drops: app.security.capDrop, adds: app.security.capAdd }),
                    readOnly: app.security.readOnlyRootfs,
                    user: app.security.user,
                    // An init as PID 1 forwards the stop signal, so replicas stop in well under the grace period.
                    init: true,
                    // Removal stops the container first (the image's STOPSIGNAL): a drain, not a kill.
                    destroyGraceSeconds: 10,
                    labels: [
                        { label: "matrix.cloud", value: cloudName },
                        { label: "matrix.app", value: app.name },
                        { label: "matrix.node", value: replica.node },
                    ],
                },
                { parent: this, provider: node.provider, deleteBeforeReplace: replica.fixedPort, dependsOn: previous ? [previous] : [] },
            );
            const healthy = new command.remote.Command(
                `${rname}-healthy`,
                {
                    connection: node.connection,
                    // A new container id re-runs the gate (an update runs create again).
                    ...onStdin(
                        container.id.apply((id) =>
                            renderScript("wait-healthy", {
                                id,
                                app: app.name,
                                node: replica.node,
                                pidsLimit: app.security.pidsLimit,
                                attempts: h.deployTimeoutSeconds * 2,
                                seconds: h.deployTimeoutSeconds,
                            }),
                        ),
                    ),
                    addPreviousOutputInEnv: false,
                },
                { parent: this },
            );
            if (app.source.kind !== "image") {
                // Images this node no longer runs, beyond the newest `keep` (what a rollback returns to).
                const repository = `${registry.address}/${app.name}`;
                new command.remote.Command(
                    `${rname}-prune`,
                    {
                        connection: node.connection,
                        create: renderScript("prune-images", { repository, keep: registry.keep, next: registry.keep + 1 }),
                        // Again after every new image: each pull adds one.
                        triggers: [this.imageRef],
                        addPreviousOutputInEnv: false,
                    },
                    { parent: this, dependsOn: [healthy] },
                );
            }
            this.replicas.push({ node: replica.node, address: replica.address, hostPort, container: container.name, healthy });
        });
        this.registerOutputs({ replicas: this.replicas, image: this.image, imageRef: this.imageRef, version: this.version });
    }
}

/**
 * A script run from stdin: a failed command's error quotes the command line, and the operator
 * should read what the script said, not the script.
 */
function onStdin(script: pulumi.Input<string>): { create: string; stdin: pulumi.Input<string> } {
    return { create: "sh -s", stdin: script };
}
