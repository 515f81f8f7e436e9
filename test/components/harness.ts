// Runs the real program (index.ts) under pulumi.runtime.setMocks, for component wiring tests.
// MOCKS: nothing is applied; every resource "succeeds" with its inputs as outputs. It records
// the graph as the engine would see it: type, name, parent, dependencies, provider, inputs,
// and which inputs are secret (as serialized on the wire, before the mock unwraps them).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const ROOT = path.resolve(__dirname, "..", "..");

export interface Registered {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent: string;
    dependencies: string[];
    provider: string;
    inputs: Record<string, any>;
    /** Top-level input names whose value is (or contains) a secret. */
    secretInputs: string[];
}

export interface Run {
    resources: Registered[];
    outputs: Record<string, unknown>;
    byName(type: string, name: string): Registered;
    ofType(type: string): Registered[];
}

function containsSecret(v: any): boolean {
    if (v && typeof v === "object") {
        if (v["4dabf18193072939515e22adb298388d"] === SECRET_SIG) return true;
        return Object.values(v).some(containsSecret);
    }
    return false;
}

/** The dev stack's config with the `matrix:` prefix removed, as plain objects, for tests to vary. */
export function devConfig(): Record<string, any> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config;
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k.replace(/^matrix:/, ""), v]));
}

/** Runs index.ts once with this config (keys without namespace) and secrets; resolves when the graph is complete. */
export async function runProgram(config: Record<string, any>, secrets: Record<string, string> = {}, stack = "dev"): Promise<Run> {
    const resources: Registered[] = [];
    let pending = 0;
    let last = Date.now();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: args.inputs }),
            call: (args) => args.inputs,
        },
        "matrix",
        stack,
        false,
    );
    const settings = require("@pulumi/pulumi/runtime/settings");
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        pending++;
        const object = req.getObject()?.toJavaScript() ?? {};
        register(req, (err: any, res: any) => {
            if (!err)
                resources.push({
                    urn: res.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    provider: req.getProvider(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject()),
                    secretInputs: Object.keys(object).filter((k) => containsSecret(object[k])),
                });
            pending--;
            last = Date.now();
            callback(err, res);
        });
    };
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) all[`matrix:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) all[`matrix:${k}`] = v;
    pulumi.runtime.setAllConfig(all, Object.keys(secrets).map((k) => `matrix:${k}`));

    let program: Record<string, unknown> = {};
    jest.isolateModules(() => {
        program = require(path.join(ROOT, "index.ts"));
    });
    // The graph is complete when nothing is in flight and nothing new arrived for a moment.
    while (pending > 0 || Date.now() - last < 150) await new Promise((r) => setTimeout(r, 25));
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(program)) outputs[k] = pulumi.Output.isInstance(v) ? await new Promise((r) => (v as pulumi.Output<unknown>).apply(r)) : v;
    const find = (type: string, name: string) => {
        const r = resources.find((x) => x.type === type && x.name === name);
        if (!r) throw new Error(`no ${type} named ${name}; have: ${resources.map((x) => `${x.type}::${x.name}`).join(", ")}`);
        return r;
    };
    return { resources, outputs, byName: find, ofType: (t) => resources.filter((r) => r.type === t) };
}
