// The cloud as the stack's outputs describe it: read with `pulumi stack output --json` (which
// honours PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE from the environment), or from a file
// that command wrote. The Pulumi CLI is spawned directly: loading the Automation API would cost
// more start-up time than the whole of most commands.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { SshTarget } from "../core/ssh";
import { CliError } from "./errors";

export const PROJECT_DIR = path.resolve(__dirname, "..");

interface SshRow {
    host: string;
    port: number;
    user: string;
    keyFile: string;
    knownHostsFile: string;
    via?: SshRow;
}
const sshSchema: z.ZodType<SshRow> = z.lazy(() =>
    z.object({ host: z.string(), port: z.number(), user: z.string(), keyFile: z.string(), knownHostsFile: z.string(), via: sshSchema.optional() }),
);

const hostSchema = z.object({
    name: z.string(),
    role: z.enum(["manager", "node"]),
    address: z.string(),
    fqdn: z.string(),
    groups: z.array(z.string()),
    labels: z.record(z.string(), z.string()),
    drain: z.boolean(),
    ssh: sshSchema,
});

const outputsSchema = z.object({
    cloudInfo: z.object({
        name: z.string(),
        domain: z.string(),
        mode: z.enum(["lab", "ssh"]),
        router: z.object({ container: z.string() }),
        registry: z.object({ address: z.string(), pushAddress: z.string(), username: z.string() }),
    }),
    hosts: z.array(hostSchema).min(1),
    applications: z.record(z.string(), z.object({ version: z.string(), image: z.string().optional(), urls: z.array(z.string()) }).loose()),
    ca: z.string().optional(),
    routerUrl: z.string().optional(),
    /** Set by the monitoring service, when the stack has one. */
    monitorUrl: z.string().optional(),
    registryPassword: z.string().optional(),
    /** Machine pools and allocations (issue 10); empty objects on a stack without them. */
    pools: z
        .object({
            pools: z.record(z.string(), z.object({ nodes: z.array(z.string()), free: z.array(z.string()) })),
            allocations: z.record(z.string(), z.object({ pool: z.string(), for: z.string(), exclusive: z.boolean(), nodes: z.array(z.string()) })),
            capacity: z.record(z.string(), z.object({ cores: z.number().nullable(), coresFree: z.number().nullable(), memoryMiB: z.number().nullable(), memoryFreeMiB: z.number().nullable(), allocations: z.array(z.string()) })),
        })
        .optional(),
    tenants: z.record(z.string(), z.array(z.object({ name: z.string(), node: z.string(), address: z.string(), fqdn: z.string(), cpuset: z.string().optional(), memory: z.number().optional(), disk: z.number().optional(), ssh: z.string() }).loose())).optional(),
});

export type HostInfo = z.infer<typeof hostSchema>;
export type Outputs = z.infer<typeof outputsSchema>;

/** The stack's row is already the shape the shared ssh client definition takes (via included). */
export function sshTarget(h: HostInfo): SshTarget {
    return h.ssh;
}

export interface OutputSource {
    stack?: string;
    /** A file holding `pulumi stack output --json` (tests, or a machine without the state backend). */
    file?: string;
    /** Decrypt secret outputs (the registry password): only the commands that need one ask. */
    secrets?: boolean;
}

/** The stack's outputs, checked: a stack deployed before the CLI existed lacks `hosts`, and says so. */
export async function loadOutputs(source: OutputSource): Promise<Outputs> {
    const what = source.file ? `outputs file ${source.file}` : `stack ${source.stack ?? "(selected)"}`;
    const text = source.file ? readFile(source.file) : await pulumiOutputs(source);
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch {
        throw new CliError(`${what}: the outputs are not JSON`);
    }
    return parseOutputs(raw, what);
}

export function parseOutputs(raw: unknown, what: string): Outputs {
    const r = outputsSchema.safeParse(raw);
    if (!r.success) {
        const missing = r.error.issues.map((i) => i.path.join(".") || "(root)");
        throw new CliError(`${what} lacks what matrix needs (${[...new Set(missing)].join(", ")}): run \`pulumi up\` with this version of the program, which adds the outputs cloudInfo and hosts`);
    }
    return r.data;
}

function readFile(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e: any) {
        throw new CliError(`cannot read ${file}: ${e.code ?? e.message}`);
    }
}

function pulumiOutputs(source: OutputSource): Promise<string> {
    const args = ["stack", "output", "--json", "--non-interactive", "--cwd", PROJECT_DIR];
    if (source.stack) args.push("--stack", source.stack);
    if (source.secrets) args.push("--show-secrets");
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
        let out = "";
        let err = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (err += c));
        child.on("error", (e: any) =>
            reject(new CliError(e.code === "ENOENT" ? "pulumi not found: install the Pulumi CLI (offline: scripts/install-pulumi.sh), or pass --outputs <file>" : `pulumi: ${e.message}`)),
        );
        child.on("close", (code) => {
            if (code === 0) resolve(out);
            else reject(new CliError(`pulumi stack output failed for stack ${source.stack ?? "(selected)"}: ${err.trim().split("\n").slice(-3).join(" ") || `exit ${code}`}`));
        });
    });
}
