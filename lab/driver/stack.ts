// The dev stack's configuration applied to the local lab by the real Pulumi engine, through the
// Automation API on the project folder. Its own stack (`e2e`, config file Pulumi.e2e.yaml made
// from Pulumi.dev.yaml, git-ignored) in its own file backend, so a run never touches the
// operator's dev stack or state. Shared by the end-to-end test and the benchmark.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, LocalWorkspace, OpMap, OpType, Stack } from "@pulumi/pulumi/automation";

export const ROOT = path.resolve(__dirname, "../..");
export const STACK = "e2e";
const STACK_FILE = path.join(ROOT, `Pulumi.${STACK}.yaml`);

/** One engine operation on one resource, as the engine reported it. */
export interface Step {
    op: OpType;
    urn: string;
    type: string;
    /** The resource's name (last URN segment). */
    name: string;
    /** Input keys that differ (updates and replacements). */
    diffs: string[];
}

export interface RunResult {
    seconds: number;
    /** The engine's own change summary (counts by operation, "same" included). */
    changes: OpMap;
    /** Steps other than "same", in the order the engine began them. */
    steps: Step[];
    outputs: Record<string, any>;
    /** Everything the CLI printed. */
    log: string;
}

/** A throwaway backend and the e2e stack on the project folder. */
export class LabStack {
    /** Every engine event and every line the CLI printed, of every operation on this stack: what a log could leak. */
    eventLog = "";

    private constructor(readonly stack: Stack, readonly backend: string) {}

    static async create(edit: (config: any) => void = () => undefined): Promise<LabStack> {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-state-"));
        writeConfig(edit);
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName: STACK, workDir: ROOT },
            {
                envVars: {
                    PULUMI_BACKEND_URL: `file://${backend}`,
                    // The e2e stack's secrets (the lab key) are encrypted with this throwaway passphrase.
                    PULUMI_CONFIG_PASSPHRASE: "matrix-e2e",
                    PULUMI_SKIP_UPDATE_CHECK: "true",
                },
            },
        );
        return new LabStack(stack, backend);
    }

    /** Rewrite the stack's config: Pulumi.dev.yaml's, edited. */
    configure(edit: (config: any) => void) {
        writeConfig(edit);
    }

    up(): Promise<RunResult> {
        return this.run((onEvent, onOutput) => this.stack.up({ onEvent, onOutput, color: "never" }).then((r) => ({ changes: r.summary.resourceChanges ?? {}, outputs: plainOutputs(r.outputs) })));
    }

    preview(): Promise<RunResult> {
        return this.run((onEvent, onOutput) => this.stack.preview({ onEvent, onOutput, color: "never", diff: true }).then((r) => ({ changes: r.changeSummary, outputs: {} })));
    }

    refresh(): Promise<RunResult> {
        return this.run((onEvent, onOutput) => this.stack.refresh({ onEvent, onOutput, color: "never" }).then((r) => ({ changes: r.summary.resourceChanges ?? {}, outputs: {} })));
    }

    destroy(): Promise<RunResult> {
        return this.run((onEvent, onOutput) => this.stack.destroy({ onEvent, onOutput, color: "never" }).then((r) => ({ changes: r.summary.resourceChanges ?? {}, outputs: {} })));
    }

    /** Cleanup after a suite: destroy what the stack still holds (a failure throws: no lab is left behind silently). */
    async teardown(): Promise<void> {
        if ((await this.resourceCount()) > 0) await this.destroy();
    }

    /**
     * `refresh`, then `preview`: both must change nothing after any up. A setting the provider reads
     * back in another form than the program writes it shows here (and would make users' next up
     * update or replace it); the preview's steps name the resource and the differing inputs.
     */
    async settled(): Promise<{ refresh: Partial<OpMap>; preview: Partial<OpMap>; steps: string[] }> {
        const r = await this.refresh();
        const p = await this.preview();
        return { refresh: changedCounts(r.changes), preview: changedCounts(p.changes), steps: p.steps.map((s) => `${s.op} ${s.type} ${s.name} [${s.diffs.join(", ")}]`) };
    }

    /** Number of resources in the stack's state (stack and providers included). */
    async resourceCount(): Promise<number> {
        const state = await this.stack.exportStack();
        return (state.deployment?.resources ?? []).length;
    }

    /** Remove the stack, its backend and its config file. */
    async remove() {
        await this.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        fs.rmSync(this.backend, { recursive: true, force: true });
        fs.rmSync(STACK_FILE, { force: true });
    }

    private async run(op: (onEvent: (e: EngineEvent) => void, onOutput: (s: string) => void) => Promise<{ changes: OpMap; outputs: Record<string, any> }>): Promise<RunResult> {
        const t0 = Date.now();
        const steps = new Map<string, Step>();
        let log = "";
        const onEvent = (e: EngineEvent) => {
            this.eventLog += JSON.stringify(e) + "\n";
            const m = e.resourcePreEvent?.metadata ?? e.resOutputsEvent?.metadata;
            if (!m || m.op === "same") return;
            const key = `${m.urn} ${m.op}`;
            if (!steps.has(key)) steps.set(key, { op: m.op, urn: m.urn, type: m.type, name: m.urn.split("::").pop()!, diffs: m.diffs ?? [] });
        };
        try {
            const r = await op(onEvent, (s) => (log += s));
            this.eventLog += log;
            return { seconds: (Date.now() - t0) / 1000, changes: r.changes, steps: [...steps.values()], outputs: r.outputs, log };
        } catch (e: any) {
            // The CLI's own message (with every diagnostic) is the useful part of a failure.
            throw new Error(`${e.message ?? e}\n${log.split("\n").slice(-60).join("\n")}`);
        }
    }
}

function writeConfig(edit: (config: any) => void) {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    delete doc.encryptionsalt;
    // Keep the salt `stack init` wrote for this stack's passphrase.
    const salt = fs.existsSync(STACK_FILE) ? YAML.parse(fs.readFileSync(STACK_FILE, "utf8"))?.encryptionsalt : undefined;
    if (salt) doc.encryptionsalt = salt;
    edit(doc.config);
    fs.writeFileSync(STACK_FILE, YAML.stringify(doc));
}

function plainOutputs(outputs: Record<string, { value: any }>): Record<string, any> {
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

/** Counts of a change summary other than "same". */
export function changedCounts(changes: OpMap): Partial<OpMap> {
    return Object.fromEntries(Object.entries(changes).filter(([op, n]) => op !== "same" && n)) as Partial<OpMap>;
}
