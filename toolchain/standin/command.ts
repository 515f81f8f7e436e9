// command:local:Command and command:remote:Command, following @pulumi/command 1.x:
//  - create runs `create`; an update runs `update`, or `create` again when there is no `update`;
//  - delete runs `delete` with the last stdout/stderr in PULUMI_COMMAND_STDOUT/STDERR;
//  - outputs are the inputs plus stdout/stderr, each with one trailing newline trimmed;
//  - a non-zero exit fails the step and shows the command's output.
//  - a change of `triggers` replaces the command (the provider's replaceOnChanges).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StandinError, Spec, childEnv, exec, shQuote, sleep } from "./util";
import type { CreateResult, Handler, HandlerContext, ResourceRequest, StateEntry } from "./types";

const LOGGING = { oneOf: ["stdout", "stderr", "stdoutAndStderr", "none"] };

export const LOCAL_COMMAND_SPEC: { [k: string]: Spec } = {
    create: "string",
    update: "string",
    delete: "string",
    dir: "string",
    environment: "map",
    interpreter: ["string"],
    stdin: "string",
    triggers: ["any"],
    logging: LOGGING,
    addPreviousOutputInEnv: "boolean",
    // assetPaths / archivePaths: not implemented (rejected when non-empty)
};

export const CONNECTION_SPEC: { [k: string]: Spec } = {
    host: "string",
    port: "number",
    user: "string",
    privateKey: "string",
    dialErrorLimit: "number",
    perDialTimeout: "number",
    hostKey: "string",
    // The jump host the connection goes through (the provider's ProxyConnection).
    proxy: { host: "string", port: "number", user: "string", privateKey: "string", dialErrorLimit: "number", perDialTimeout: "number", hostKey: "string" },
    // password, privateKeyPassword, agentSocketPath: not implemented
};

export const REMOTE_COMMAND_SPEC: { [k: string]: Spec } = {
    connection: CONNECTION_SPEC,
    create: "string",
    update: "string",
    delete: "string",
    environment: "map",
    stdin: "string",
    triggers: ["any"],
    logging: LOGGING,
    addPreviousOutputInEnv: "boolean",
};

export function trimOneNewline(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

function logStdout(logging: string | undefined) {
    return logging === undefined || logging === "stdout" || logging === "stdoutAndStderr";
}
function logStderr(logging: string | undefined) {
    return logging === undefined || logging === "stderr" || logging === "stdoutAndStderr";
}

/** PULUMI_COMMAND_STDOUT/STDERR of a previous run, as the provider sets them (only when non-empty). */
export function previousOutputEnv(inputs: any, prev: { stdout?: string; stderr?: string } | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    if (!prev || inputs.addPreviousOutputInEnv === false) return env;
    if (prev.stdout) env.PULUMI_COMMAND_STDOUT = prev.stdout;
    if (prev.stderr) env.PULUMI_COMMAND_STDERR = prev.stderr;
    return env;
}

interface RunResult { stdout: string; stderr: string }

function failure(kind: string, req: { type: string; name: string }, command: string, code: number | string, out: string, ctx: HandlerContext): never {
    const shown = ctx.redactor.redact(out.trim());
    throw new StandinError(
        `${req.type} "${req.name}": ${kind} command failed (exit ${code}): ${ctx.redactor.redact(command)}\n${shown}`,
    );
}

// ---------------------------------------------------------------------------------------------
// local

export async function runLocal(
    req: { type: string; name: string },
    inputs: any,
    command: string,
    kind: string,
    prev: RunResult | undefined,
    ctx: HandlerContext,
): Promise<RunResult> {
    const interpreter: string[] = inputs.interpreter && inputs.interpreter.length > 0 ? inputs.interpreter : ["/bin/sh", "-c"];
    const dir = inputs.dir !== undefined ? path.resolve(ctx.cwd, inputs.dir) : ctx.cwd;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new StandinError(`${req.type} "${req.name}": dir ${dir} does not exist`);
    }
    const env = childEnv({ ...(inputs.environment ?? {}), ...previousOutputEnv(inputs, prev) });
    const both: string[] = [];
    const res = await exec([...interpreter, command], {
        cwd: dir,
        env,
        stdin: inputs.stdin,
        onLine: (stream, line) => {
            both.push(line);
            if ((stream === "stdout" && logStdout(inputs.logging)) || (stream === "stderr" && logStderr(inputs.logging))) {
                ctx.log(line);
            }
        },
    });
    if (res.code !== 0) failure(kind, req, command, res.signal ?? res.code, both.join("\n"), ctx);
    return { stdout: trimOneNewline(res.stdout), stderr: trimOneNewline(res.stderr) };
}

type Runner = typeof runLocal;

/** A command resource: create runs `create`, update runs `update` (else `create`), delete runs `delete`. */
function commandHandler(spec: Handler["spec"], run: Runner, validate?: Handler["validate"]): Handler {
    return {
        spec,
        validate,
        diff: (changed) => (changed.includes("triggers") ? "replace" : "update"),
        async create(req, ctx): Promise<CreateResult> {
            const id = `${req.name}-${Math.random().toString(16).slice(2, 10)}`;
            let out: RunResult = { stdout: "", stderr: "" };
            if (req.inputs.create !== undefined) out = await run(req, req.inputs, req.inputs.create, "create", undefined, ctx);
            return { id, outputs: { ...req.inputs, ...out } };
        },
        async update(req, old, ctx): Promise<CreateResult> {
            const cmd = req.inputs.update ?? req.inputs.create;
            let out: RunResult = { stdout: old.outputs?.stdout ?? "", stderr: old.outputs?.stderr ?? "" };
            if (cmd !== undefined) out = await run(req, req.inputs, cmd, req.inputs.update !== undefined ? "update" : "create (update)", old.outputs, ctx);
            return { id: old.id, outputs: { ...req.inputs, ...out } };
        },
        async delete(entry: StateEntry, ctx) {
            const inputs = entry.inputs ?? {};
            if (inputs.delete === undefined) return;
            await run(entry, inputs, inputs.delete, "delete", entry.outputs, ctx);
        },
    };
}

export const localCommand = commandHandler(LOCAL_COMMAND_SPEC, runLocal);

// ---------------------------------------------------------------------------------------------
// remote

export interface Connection {
    host: string;
    port?: number;
    user?: string;
    privateKey?: string;
    dialErrorLimit?: number;
    perDialTimeout?: number;
    hostKey?: string;
    proxy?: Omit<Connection, "proxy">;
}

type SshFiles = { keyFile?: string; knownHostsFile?: string; proxy?: { keyFile?: string; knownHostsFile?: string } };

/** Key and host-key options of one hop (a connection without hostKey accepts any key, as the provider does). */
function hopOptions(files: { keyFile?: string; knownHostsFile?: string }): string[] {
    const args: string[] = [];
    if (files.keyFile) args.push("-i", files.keyFile, "-o", "IdentitiesOnly=yes");
    if (files.knownHostsFile) args.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${files.knownHostsFile}`);
    else args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
    return args;
}

/**
 * The ssh command line for a remote command. `envKeys` are sent with SendEnv (the same
 * SSH "env" request the provider's session.Setenv makes: the server keeps only names its
 * AcceptEnv allows). The command goes to the remote user's shell as one string.
 */
export function sshCommandArgs(conn: Connection, files: SshFiles, envKeys: string[], command: string): string[] {
    const port = conn.port ?? 22;
    const user = conn.user ?? "root";
    const args = ["ssh", ...hopOptions(files), "-p", String(port)];
    if (conn.proxy) {
        // The jump host opens the TCP connection (-W), checked with its own key and host key.
        const p = conn.proxy;
        const hop = ["ssh", ...hopOptions(files.proxy ?? {}), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-p", String(p.port ?? 22), "-W", "%h:%p", `${p.user ?? "root"}@${p.host}`];
        args.push("-o", `ProxyCommand=${hop.map(shQuote).join(" ")}`);
    }
    args.push(
        "-o", "BatchMode=yes",
        "-o", "LogLevel=ERROR",
        "-o", `ConnectTimeout=${Math.max(1, Math.round(conn.perDialTimeout ?? 15))}`,
    );
    for (const k of envKeys) args.push("-o", `SendEnv=${k}`);
    args.push("-T", "--", `${user}@${conn.host}`, command);
    return args;
}

/** known_hosts line for a hostKey input ("ssh-ed25519 AAAA..."). */
export function knownHostsLine(host: string, port: number, hostKey: string): string {
    const h = port === 22 ? host : `[${host}]:${port}`;
    return `${h} ${hostKey.trim()}\n`;
}

/** Overall cap for dialErrorLimit = -1 (unlimited). */
export const UNLIMITED_DIAL_CAP_MS = 120_000;

/** Delays between dial attempts (the provider uses retry.Until with growing delays). */
export function dialDelays(limit: number): { maxDials: number; delayMs: (attempt: number) => number } {
    return {
        maxDials: limit < 0 ? Number.POSITIVE_INFINITY : Math.max(1, limit),
        delayMs: (attempt) => Math.min(5000, Math.round(250 * Math.pow(1.5, attempt))),
    };
}

/** The key and known_hosts files of one hop, in `dir`. */
function hopFiles(conn: Omit<Connection, "proxy">, dir: string, prefix: string): { keyFile?: string; knownHostsFile?: string } {
    const files: { keyFile?: string; knownHostsFile?: string } = {};
    if (conn.privateKey) {
        files.keyFile = path.join(dir, `${prefix}key`);
        let key = conn.privateKey;
        if (!key.endsWith("\n")) key += "\n";
        fs.writeFileSync(files.keyFile, key, { mode: 0o600 });
    } else if (!process.env.SSH_AUTH_SOCK) {
        throw new StandinError(`connection${prefix ? ` ${prefix.replace(/-$/, "")}` : ""} has no privateKey and SSH_AUTH_SOCK is unset (password auth is not implemented)`);
    }
    if (conn.hostKey) {
        files.knownHostsFile = path.join(dir, `${prefix}known_hosts`);
        fs.writeFileSync(files.knownHostsFile, knownHostsLine(conn.host, conn.port ?? 22, conn.hostKey), { mode: 0o600 });
    }
    return files;
}

async function withSshFiles<T>(conn: Connection, ctx: HandlerContext, fn: (files: SshFiles) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(ctx.tmpDir, "ssh-"));
    fs.chmodSync(dir, 0o700);
    try {
        const files: SshFiles = hopFiles(conn, dir, "");
        if (conn.proxy) files.proxy = hopFiles(conn.proxy, dir, "proxy-");
        return await fn(files);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Dial (an `ssh ... true` probe) until it succeeds, like the provider's dial retry. */
async function dial(req: { type: string; name: string }, conn: Connection, files: SshFiles, ctx: HandlerContext) {
    const limit = conn.dialErrorLimit ?? 10;
    const { maxDials, delayMs } = dialDelays(limit);
    const started = Date.now();
    let lastErr = "";
    for (let attempt = 0; ; attempt++) {
        const res = await exec(sshCommandArgs(conn, files, [], "true"), { env: childEnv(), timeoutMs: ((conn.perDialTimeout ?? 15) + 10) * 1000 });
        if (res.code === 0) return;
        lastErr = (res.stderr.trim() || `ssh exited ${res.signal ?? res.code}`).split("\n").slice(-3).join(" / ");
        const dials = attempt + 1;
        const capped = limit < 0 && Date.now() - started > UNLIMITED_DIAL_CAP_MS;
        if (dials >= maxDials || capped) {
            throw new StandinError(
                `${req.type} "${req.name}": cannot connect to ${conn.user ?? "root"}@${conn.host}:${conn.port ?? 22} ` +
                `after ${dials} dial(s): ${ctx.redactor.redact(lastErr)}`,
            );
        }
        await sleep(delayMs(attempt));
    }
}

export async function runRemote(
    req: { type: string; name: string },
    inputs: any,
    command: string,
    kind: string,
    prev: RunResult | undefined,
    ctx: HandlerContext,
): Promise<RunResult> {
    const conn: Connection = inputs.connection;
    return withSshFiles(conn, ctx, async (files) => {
        await dial(req, conn, files, ctx);
        const env: Record<string, string> = { ...(inputs.environment ?? {}), ...previousOutputEnv(inputs, prev) };
        const envKeys = Object.keys(env);
        const sshEnv = childEnv(env);
        const remoteCommand = command;
        const both: string[] = [];
        const res = await exec(sshCommandArgs(conn, files, envKeys, remoteCommand), {
            env: sshEnv,
            stdin: inputs.stdin,
            onLine: (stream, line) => {
                both.push(line);
                if ((stream === "stdout" && logStdout(inputs.logging)) || (stream === "stderr" && logStderr(inputs.logging))) {
                    ctx.log(ctx.redactor.redact(line));
                }
            },
        });
        if (res.code !== 0) failure(kind, req, command, res.signal ?? res.code, both.join("\n"), ctx);
        return { stdout: trimOneNewline(res.stdout), stderr: trimOneNewline(res.stderr) };
    });
}

export const remoteCommand = commandHandler(REMOTE_COMMAND_SPEC, runRemote, (req) => {
    if (!req.inputs.connection?.host) throw new StandinError(`${req.type} "${req.name}": connection.host is required`);
});
