import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { fileScripts } from "../core/scripts";
import { Connection } from "./host";

/**
 * A file on a host, written atomically from stdin. A remote command rather than CopyToRemote:
 * a content change is an in-place update that runs `create` again, and its delete removes the
 * file. Not `triggers`: they force a replacement. Returns the command and the content hash,
 * for the triggers of commands that read the file. A private file (a key) is readable by root
 * only; its content travels as a secret on stdin and the command logs nothing.
 */
export function remoteFile(
    name: string,
    /** removeAlso: files next to it that its delete removes too (made from it by other commands). */
    args: { connection: pulumi.Input<Connection>; file: string; content: pulumi.Input<string>; removeAlso?: string[]; private?: boolean },
    opts: pulumi.CustomResourceOptions,
): { command: command.remote.Command; hash: pulumi.Output<string> } {
    const hash = pulumi.output(args.content).apply(contentHash);
    const scripts = fileScripts(args.file, args.removeAlso, { private: args.private });
    const cmd = new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: scripts.create,
            delete: scripts.delete,
            stdin: args.private ? pulumi.secret(args.content) : args.content,
            ...(args.private ? { logging: "none" as const } : {}),
            // The scripts never read the previous output; passing it makes the provider ask sshd to
            // set PULUMI_COMMAND_STDOUT, which a stock sshd refuses with a warning on every update.
            addPreviousOutputInEnv: false,
        },
        // A connection change updates in place; should a future input force a replacement, the
        // old file's delete must not follow the new write.
        { ...opts, deleteBeforeReplace: true, ...(args.private ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) },
    );
    return { command: cmd, hash };
}
