import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { fileScripts } from "../core/scripts";
import { Connection } from "./host";

/**
 * A file on a host, written atomically from stdin. A remote command rather than CopyToRemote:
 * it re-runs exactly when the content hash changes, and its delete removes the file.
 * Returns the command and the content hash, for the triggers of commands that read the file.
 */
export function remoteFile(
    name: string,
    args: { connection: pulumi.Input<Connection>; file: string; content: string },
    opts: pulumi.CustomResourceOptions,
): { command: command.remote.Command; hash: string } {
    const hash = contentHash(args.content);
    const scripts = fileScripts(args.file);
    const cmd = new command.remote.Command(
        name,
        { connection: args.connection, create: scripts.create, delete: scripts.delete, stdin: args.content, triggers: [hash] },
        opts,
    );
    return { command: cmd, hash };
}
