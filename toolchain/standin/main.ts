// Entry point of a stand-in resource plugin: `main.ts docker` or `main.ts command`
// (scripts/install-pulumi.sh installs a wrapper per plugin into Pulumi's plugin cache).
import * as path from "path";
import { localCommand, remoteCommand } from "./command";
import { DockerEndpoint, container, image, network, parseProviderConfig, remoteImage, volume } from "./docker";
import { PluginDefinition, serve } from "./server";

// The versions the SDKs request: the plugins answer to exactly these.
const sdkVersion = (pkg: string) => require(`${pkg}/package.json`).version as string;

const plugins: { [name: string]: () => PluginDefinition } = {
    docker: () => {
        let endpoint: DockerEndpoint | undefined;
        return {
            name: "docker",
            version: sdkVersion("@pulumi/docker"),
            handlers: {
                "docker:index/network:Network": network,
                "docker:index/volume:Volume": volume,
                "docker:index/container:Container": container,
                "docker:index/remoteImage:RemoteImage": remoteImage,
                "docker:index/image:Image": image,
            },
            configure(config, ctx) {
                const cfg = parseProviderConfig(config, "docker provider");
                endpoint?.close();
                endpoint = new DockerEndpoint("provider", cfg, path.join(ctx.tmpDir, "endpoint"), ctx.log);
                const ep = endpoint;
                return async () => {
                    await ep.open();
                    return ep;
                };
            },
            close: () => endpoint?.close(),
        };
    },
    command: () => ({
        name: "command",
        version: sdkVersion("@pulumi/command"),
        handlers: {
            "command:local:Command": localCommand,
            "command:remote:Command": remoteCommand,
        },
    }),
};

const which = process.argv[2];
if (!plugins[which]) {
    process.stderr.write(`usage: main.ts ${Object.keys(plugins).join("|")} <engine address>\n`);
    process.exit(2);
}
process.argv.splice(2, 1);
serve(plugins[which]());
