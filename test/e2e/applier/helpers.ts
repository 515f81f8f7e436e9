// Helpers for tests that drive the applier CLI in a fresh process per run.
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT, sh } from "../lab";

export { sh };
const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");
const RUN = path.join(__dirname, "run.ts");

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    /** The JSON summary (last stdout line). */
    summary: any;
}

/** Run `run.ts <args>` in a new process (one program load per process, as the CLI requires). */
export function runApplier(args: string[], timeoutMs = 280_000): RunResult {
    const r = spawnSync(TS_NODE, ["--transpile-only", RUN, ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: timeoutMs,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
    });
    const lines = (r.stdout ?? "").trim().split("\n").filter(Boolean);
    let summary: any = undefined;
    try { summary = JSON.parse(lines[lines.length - 1] ?? ""); } catch { /* none */ }
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", summary };
}

export function inspect(kind: "container" | "network" | "volume", name: string): any | undefined {
    const r = sh(["docker", kind, "inspect", name]);
    if (r.code !== 0) return undefined;
    return JSON.parse(r.out)[0];
}

/** Action of one resource (by name) in a summary. */
export function actionOf(summary: any, name: string): string | undefined {
    return summary?.actions?.find((a: any) => a.name === name)?.action;
}

/** Force-remove docker objects whose names start with prefix (test cleanup). */
export function forceCleanup(prefix: string) {
    for (const kind of ["container", "network", "volume"] as const) {
        const list = kind === "container"
            ? sh(["docker", "ps", "-a", "--filter", `name=^${prefix}`, "--format", "{{.Names}}"])
            : sh(["docker", kind, "ls", "--filter", `name=${prefix}`, "--format", "{{.Name}}"]);
        for (const n of list.out.split("\n").filter((x) => x.startsWith(prefix))) {
            if (kind === "container") sh(["docker", "rm", "-f", "-v", n]);
            else sh(["docker", kind, "rm", n]);
        }
    }
}

export function randomSuffix(): string {
    return Math.random().toString(36).slice(2, 8);
}
