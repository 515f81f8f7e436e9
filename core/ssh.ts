// How the OpenSSH client reaches a host of the cloud: one definition, shared by the program
// (docker provider, image shipping) and the `matrix` CLI. Pure: argument arrays only, no shell.
import * as path from "path";
import { shq } from "./scripts";

/** What the local ssh client needs to reach one host: never the key's content, only its file. */
export interface SshTarget {
    /** Address the deploying machine dials. */
    host: string;
    port: number;
    user: string;
    /** The private key file on this machine. */
    keyFile: string;
    /** The file holding this host's pinned key (known_hosts format). */
    knownHostsFile: string;
    /** The host this one is dialed through (its sshd forwards the connection), checked the same way. */
    via?: SshTarget;
}

/**
 * Client options: the key file, no password prompts, and only the pinned host key is accepted
 * (a changed key is an error, never a prompt or a silent update).
 */
export function sshClientOptions(keyFile: string, knownHostsFile: string, via?: SshTarget): string[] {
    const options = ["-i", keyFile, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHostsFile}`];
    // ProxyJump would not pass our key and known_hosts to the first hop: a ProxyCommand states them.
    if (via) options.push("-o", `ProxyCommand=${proxyCommand(via)}`);
    return options;
}

/** ssh's ProxyCommand through `via` (`-W`: the jump host's sshd opens the TCP connection). */
export function proxyCommand(via: SshTarget): string {
    return ["ssh", ...sshClientOptions(via.keyFile, via.knownHostsFile, via.via), "-p", String(via.port), "-W", "%h:%p", `${via.user}@${via.host}`].map(shq).join(" ");
}

/** The known_hosts line pinning a host's key; a port other than 22 is part of the name. */
export function knownHostsEntry(host: string, port: number, hostKey: string): string {
    return `${port === 22 ? host : `[${host}]:${port}`} ${hostKey.trim()}`;
}

export interface SshCommandOptions {
    /** Words of the remote command; each is shell-quoted (the remote sshd hands one string to a shell). */
    command?: readonly string[];
    /** Allocate a terminal (interactive shells, `docker exec -it`). */
    tty?: boolean;
    /** Seconds to wait for the TCP connection. */
    connectTimeout?: number;
}

/** Arguments of `ssh` (without the program name) for one host and, optionally, one remote command. */
export function sshArgv(target: SshTarget, options: SshCommandOptions = {}): string[] {
    const args = [...sshClientOptions(target.keyFile, target.knownHostsFile, target.via), "-p", String(target.port)];
    if (options.connectTimeout !== undefined) args.push("-o", `ConnectTimeout=${options.connectTimeout}`);
    // Dead connections are noticed within ~15 s (logs -f on a node that dies).
    args.push("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3");
    args.push(options.tty ? "-t" : "-T");
    args.push(`${target.user}@${target.host}`);
    if (options.command?.length) args.push("--", options.command.map((w) => shq(w)).join(" "));
    return args;
}

/** Where the deploying machine keeps a host's pinned key for the local ssh client (.lab/<stack>, git-ignored). */
export function knownHostsPath(projectDir: string, stack: string, host: string): string {
    return path.join(projectDir, ".lab", stack, "known_hosts", host);
}
