// Remote commands on the cloud's hosts through the OpenSSH client, spawned with an argument
// array (no local shell); the options are core/ssh.ts's, which the program uses too.
import { spawn, spawnSync } from "child_process";
import { renderScript, ScriptName, ScriptVars } from "../core/scripts";
import { sshArgv } from "../core/ssh";
import { CliError } from "./errors";
import { HostInfo, sshTarget } from "./outputs";

export interface RemoteResult {
    code: number;
    stdout: string;
    stderr: string;
}

export type SshFailure = "host down" | "ssh refused" | "host key mismatch" | "login refused" | "unknown host" | "timed out" | "ssh failed";

/** An ssh-level failure (the command never ran), named after the host. */
export class HostError extends CliError {
    constructor(readonly host: string, readonly kind: SshFailure, readonly detail: string) {
        super(`${host}: ${kind}${detail ? ` (${detail})` : ""}`);
    }
}

/** What ssh's exit status 255 and its message mean, in the operator's words. */
export function classifySshFailure(stderr: string): { kind: SshFailure; detail: string } {
    const text = stderr.trim();
    const line = text.split("\n").filter((l) => !/^(Warning: Permanently added|@@@)/.test(l)).pop() ?? "";
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No \S+ host key is known/i.test(text))
        return { kind: "host key mismatch", detail: "the host's key is not the one pinned by the stack; if it was rebuilt, run `pulumi up` to pin the new key" };
    if (/Connection refused/i.test(text)) return { kind: "ssh refused", detail: line };
    if (/Connection timed out|No route to host|Network is unreachable|Operation timed out|Host is down/i.test(text)) return { kind: "host down", detail: line };
    if (/Could not resolve hostname|Name or service not known/i.test(text)) return { kind: "unknown host", detail: line };
    if (/Permission denied|Too many authentication failures|Identity file .* not accessible/i.test(text)) return { kind: "login refused", detail: line };
    if (/Connection (closed|reset)|kex_exchange_identification|Broken pipe|Timeout, server .* not responding/i.test(text)) return { kind: "host down", detail: line };
    return { kind: "ssh failed", detail: line };
}

export interface RunOptions {
    /** Bytes for the remote command's stdin (secrets travel here, never in the command). */
    stdin?: string;
    timeoutMs?: number;
}

/**
 * Run `command` (words, each shell-quoted for the remote shell) on a host. Resolves with the
 * remote exit status; rejects with a HostError when ssh itself failed (status 255) or timed out.
 */
export function runOn(host: HostInfo, command: readonly string[], options: RunOptions = {}): Promise<RemoteResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", sshArgv(sshTarget(host), { command, connectTimeout: 5 }), { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
        }, timeoutMs);
        child.stdout.on("data", (c) => (stdout += c));
        child.stderr.on("data", (c) => (stderr += c));
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.stdin ?? "");
        child.on("error", (e: any) => {
            clearTimeout(timer);
            reject(new CliError(e.code === "ENOENT" ? "ssh not found: install the OpenSSH client (apt-get install openssh-client)" : `ssh: ${e.message}`));
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            if (timedOut) return reject(new HostError(host.name, "timed out", `no answer within ${timeoutMs / 1000} s`));
            if (code === 255) {
                const { kind, detail } = classifySshFailure(stderr);
                return reject(new HostError(host.name, kind, detail));
            }
            resolve({ code: code ?? -1, stdout, stderr });
        });
    });
}

/** Run one of templates/scripts/*.sh.hbs on a host (`sh -c <script>`, quoted). */
export function runScript(host: HostInfo, name: ScriptName, vars: ScriptVars, options: RunOptions = {}): Promise<RemoteResult> {
    return runOn(host, ["sh", "-c", renderScript(name, vars)], options);
}

/** A remote command whose status must be 0: its stdout, else an error naming the host and the command's own message. */
export async function mustRun(host: HostInfo, command: readonly string[], what: string, options: RunOptions = {}): Promise<string> {
    const r = await runOn(host, command, options);
    if (r.code !== 0) throw new CliError(`${host.name}: ${what} failed: ${firstLine(r.stderr) || `exit ${r.code}`}`);
    return r.stdout;
}

export function firstLine(text: string): string {
    return text.trim().split("\n").filter(Boolean).pop() ?? "";
}

/**
 * Stream a remote command's output line by line (logs -f): each complete line goes to onLine,
 * tagged with the stream it came from. Resolves with the exit status when the command ends.
 */
export function streamOn(host: HostInfo, command: readonly string[], onLine: (line: string, stream: "stdout" | "stderr") => void): { done: Promise<number>; stop: () => void } {
    const child = spawn("ssh", sshArgv(sshTarget(host), { command, connectTimeout: 5 }), { stdio: ["ignore", "pipe", "pipe"] });
    const splitter = (stream: "stdout" | "stderr") => {
        let rest = "";
        return {
            data: (c: Buffer) => {
                const parts = (rest + c.toString("utf8")).split("\n");
                rest = parts.pop()!;
                for (const p of parts) onLine(p, stream);
            },
            end: () => rest && onLine(rest, stream),
        };
    };
    const out = splitter("stdout");
    const err = splitter("stderr");
    let sshErr = "";
    child.stdout.on("data", out.data);
    child.stderr.on("data", (c: Buffer) => {
        sshErr = (sshErr + c.toString("utf8")).slice(-2000);
        err.data(c);
    });
    const done = new Promise<number>((resolve, reject) => {
        child.on("error", (e) => reject(new CliError(`ssh: ${e.message}`)));
        child.on("close", (code) => {
            out.end();
            err.end();
            if (code === 255) {
                const { kind, detail } = classifySshFailure(sshErr);
                return reject(new HostError(host.name, kind, detail));
            }
            resolve(code ?? -1);
        });
    });
    return { done, stop: () => child.kill("SIGTERM") };
}

/** Hand the terminal to ssh (interactive shells, exec): its exit status. */
export function interactive(host: HostInfo, command: readonly string[] | undefined, tty: boolean): number {
    const r = spawnSync("ssh", sshArgv(sshTarget(host), { command, tty, connectTimeout: 10 }), { stdio: "inherit" });
    if (r.error) throw new CliError(`ssh: ${r.error.message}`);
    return r.status ?? 1;
}

export interface Settled<T> {
    host: HostInfo;
    value?: T;
    error?: Error;
}

/** fn on every host at once; each host's result or error (one host's failure never hides the others'). */
export async function onHosts<T>(hosts: readonly HostInfo[], fn: (h: HostInfo) => Promise<T>, progress?: Progress): Promise<Settled<T>[]> {
    progress?.start(hosts.length);
    const results = await Promise.all(
        hosts.map(async (host): Promise<Settled<T>> => {
            try {
                return { host, value: await fn(host) };
            } catch (e: any) {
                return { host, error: e instanceof Error ? e : new Error(String(e)) };
            } finally {
                progress?.tick(host.name);
            }
        }),
    );
    progress?.end();
    return results;
}

/** "querying hosts 2/4 (node3)" on stderr, only when stderr is a terminal: never in --json stdout. */
export class Progress {
    private total = 0;
    private done = 0;
    constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = stream.isTTY === true) {}

    start(total: number) {
        this.total = total;
        this.done = 0;
        this.write(`${this.label} 0/${total}`);
    }

    tick(name: string) {
        this.done++;
        this.write(`${this.label} ${this.done}/${this.total} (${name})`);
    }

    end() {
        if (this.enabled) this.stream.write("\r\x1b[K");
    }

    private write(text: string) {
        if (this.enabled) this.stream.write(`\r\x1b[K${text}`);
    }
}
