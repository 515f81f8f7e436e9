// Runs the real program (index.ts) under pulumi.runtime.setMocks, for component wiring tests.
// MOCKS: nothing is applied; every resource "succeeds" with its inputs as outputs. It records
// the graph as the engine would see it: type, name, parent, dependencies, provider, inputs,
// and which inputs are secret (as serialized on the wire, before the mock unwraps them).
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import * as YAML from "yaml";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface Registered {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent: string;
    dependencies: string[];
    provider: string;
    /** Inputs as sent to the engine; secrets appear in their wire form (see secretInputs). */
    inputs: Record<string, any>;
    /** Top-level input names whose value is (or contains) a secret. */
    secretInputs: string[];
    deleteBeforeReplace: boolean;
    additionalSecretOutputs: string[];
    ignoreChanges: string[];
}

export interface Run {
    resources: Registered[];
    outputs: Record<string, unknown>;
    /** The stack outputs that are secret (encrypted in the state, "[secret]" in `pulumi stack output`). */
    secretOutputs: string[];
    /** Output names each component registered, by URN. */
    componentOutputs: Record<string, string[]>;
    /** The program's error, if it threw before registering its resources. */
    error?: string;
    byName(type: string, name: string): Registered;
    ofType(type: string): Registered[];
}

/** The dev stack's config with the `matrix:` prefix removed, as plain objects, for tests to vary. */
export function devConfig(): Record<string, any> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config;
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k.replace(/^matrix:/, ""), v]));
}

/** Runs index.ts once in a fresh process with this config (keys without namespace) and secrets. */
export async function runProgram(config: Record<string, any>, secrets: Record<string, string> = {}, stack = "dev"): Promise<Run> {
    // sucrase strips the types only (tsc checks them, `npm run build`): a run costs half the CPU of
    // ts-node's, which loads the TypeScript compiler and maps every stack Pulumi captures per resource.
    const child = spawnSync(process.execPath, ["-r", require.resolve("sucrase/register/ts"), path.join(__dirname, "mocked-run.ts")], {
        cwd: ROOT,
        env: { ...process.env, MATRIX_MOCK_RUN: JSON.stringify({ config, secrets, stack }) },
        maxBuffer: 64 * 1024 * 1024,
    });
    // The mock runtime may report still-pending promises at exit; the JSON on stdout is what counts.
    const out = child.stdout.toString();
    if (!out.startsWith("{")) throw new Error(`mocked run failed:\n${child.stderr}`);
    const { resources, outputs, secretOutputs, componentOutputs, error } = JSON.parse(out) as { resources: Registered[]; outputs: Record<string, unknown>; secretOutputs?: string[]; componentOutputs: Record<string, string[]>; error?: string };
    // The engine rejects two resources with one URN; the mock runtime does not, so check here.
    const seen = new Set<string>();
    for (const r of resources) {
        if (seen.has(r.urn)) throw new Error(`duplicate resource URN ${r.urn}`);
        seen.add(r.urn);
    }
    const find = (type: string, name: string) => {
        const r = resources.find((x) => x.type === type && x.name === name);
        if (!r) throw new Error(`no ${type} named ${name}; have: ${resources.map((x) => `${x.type}::${x.name}`).join(", ")}`);
        return r;
    };
    return { resources, outputs, secretOutputs: secretOutputs ?? [], componentOutputs: componentOutputs ?? {}, error, byName: find, ofType: (t) => resources.filter((r) => r.type === t) };
}
