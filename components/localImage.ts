import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { directoryHash } from "./directoryHash";

/**
 * An image built on the deploying machine from a directory of this project, FROM the configured
 * base image; tagged with the hash of both, so an unchanged context never rebuilds.
 */
export function localImage(
    name: string,
    /** contextHash: the context's hash when the caller knows better (build outputs in it); else the hash of all it holds. */
    args: { repository: string; context: string; baseImage: string; platform: string; contextHash?: string },
    opts: pulumi.CustomResourceOptions,
): { image: docker.Image; imageName: string } {
    const imageName = `${args.repository}:${contentHash((args.contextHash ?? directoryHash(args.context)) + args.baseImage)}`;
    const image = new docker.Image(
        name,
        { imageName, build: { context: args.context, args: { BASE_IMAGE: args.baseImage }, platform: args.platform }, skipPush: true },
        opts,
    );
    return { image, imageName };
}
