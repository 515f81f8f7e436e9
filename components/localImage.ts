import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { contentHash, directoryHash } from "../core/hash";

/**
 * An image built on the deploying machine from a directory of this project, FROM the configured
 * base image; tagged with the hash of both, so an unchanged context never rebuilds.
 */
export function localImage(
    name: string,
    args: { repository: string; context: string; baseImage: string; platform: string },
    opts: pulumi.CustomResourceOptions,
): { image: docker.Image; imageName: string } {
    const imageName = `${args.repository}:${contentHash(directoryHash(args.context) + args.baseImage)}`;
    const image = new docker.Image(
        name,
        { imageName, build: { context: args.context, args: { BASE_IMAGE: args.baseImage }, platform: args.platform }, skipPush: true },
        opts,
    );
    return { image, imageName };
}
