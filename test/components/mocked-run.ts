// Child-process side of harness.ts: runs index.ts once under pulumi mocks and prints the
// recorded graph as JSON. A fresh process per run keeps one @pulumi/pulumi instance and
// one program execution, as under the real CLI.
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const containsSecret = (v: any): boolean =>
    !!v && typeof v === "object" && (v["4dabf18193072939515e22adb298388d"] === SECRET_SIG || Object.values(v).some(containsSecret));

/**
 * MOCK outputs the program reads: a host-port picker "picks" its preferred port (the real one
 * runs on the node); a pulled image's id follows its reference (the real one is its digest);
 * a pushed image's digest and a pinned tag's digest follow the image name or the tag; the
 * generated registry password is a fixed string; a host key follows the command that reads it;
 * the CA and the certificates it issues are fixed PEM texts naming what they are (a
 * certificate, then a key, as openssl's scripts print them).
 */
function mockOutputs(type: string, inputs: any): Record<string, string> {
    const sha = (s: unknown) => `sha256:${createHash("sha256").update(String(s)).digest("hex")}`;
    const preferred = type === "command:remote:Command" && /^port=(\d+)$/m.exec(String(inputs.stdin ?? ""));
    if (preferred) return { stdout: `${preferred[1]}\n` };
    const pinned = type === "command:remote:Command" && /_manifests\/tags\/'([0-9a-f]{16})'/.exec(String(inputs.create ?? ""));
    if (pinned) return { stdout: `${sha(pinned[1])}\n` };
    const pem = (name: string) =>
        `-----BEGIN CERTIFICATE-----\nmock-${name}-certificate\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nmock-${name}-key\n-----END PRIVATE KEY-----\n`;
    if (type === "command:local:Command" && /^# matrix: the cloud's certificate authority/.test(String(inputs.create))) return { stdout: pem("ca") };
    const leaf = type === "command:local:Command" && /^# matrix: issue the (\w+)'s certificate/.exec(String(inputs.create));
    if (leaf) return { stdout: pem(leaf[1]) };
    if (type === "command:local:Command" && /\/dev\/urandom/.test(String(inputs.create))) return { stdout: "mock-generated-password" };
    // A host's public key (lab key pair, or first contact in ssh mode).
    if (type === "command:local:Command" && /\.pub'?$|ssh-keyscan/.test(String(inputs.create))) return { stdout: `ssh-ed25519 AAAAmock${sha(inputs.create).slice(7, 23)}\n` };
    if (type === "docker:index/remoteImage:RemoteImage") return { imageId: sha(inputs.name) };
    if (type === "docker:index/image:Image") return { repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@${sha(inputs.imageName)}` };
    return {};
}

/** Written out before main's process.exit: a large graph on a pipe is otherwise cut short. */
function print(text: string): Promise<void> {
    return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}

async function main() {
    const { config, secrets, stack } = JSON.parse(process.env.MATRIX_MOCK_RUN!);
    const resources: any[] = [];
    let pending = 0;
    let last = Date.now();
    await pulumi.runtime.setMocks(
        { newResource: (a) => ({ id: a.custom ? `${a.name}-id` : undefined, state: { ...a.inputs, ...mockOutputs(a.type, a.inputs) } }), call: (a) => a.inputs },
        "matrix",
        stack,
        false,
    );
    // Wrap the mock monitor's class, which every registration goes through.
    const proto = require("@pulumi/pulumi/runtime/mocks").MockMonitor.prototype;
    const original = proto.registerResource;
    proto.registerResource = function (this: unknown, req: any, callback: any) {
        const register = original.bind(this);
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
                    inputs: object,
                    secretInputs: Object.keys(object).filter((k) => containsSecret(object[k])),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    ignoreChanges: req.getIgnorechangesList(),
                });
            pending--;
            last = Date.now();
            callback(err, res);
        });
    };
    // Output names each component registers (registerOutputs), by URN.
    const componentOutputs: Record<string, string[]> = {};
    const originalOutputs = proto.registerResourceOutputs;
    proto.registerResourceOutputs = function (this: unknown, req: any, callback: any) {
        componentOutputs[req.getUrn()] = Object.keys(req.getOutputs()?.toJavaScript() ?? {}).sort();
        return originalOutputs.call(this, req, callback);
    };
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) all[`matrix:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) all[`matrix:${k}`] = v as string;
    pulumi.runtime.setAllConfig(all, Object.keys(secrets).map((k) => `matrix:${k}`));

    let program: Record<string, unknown>;
    try {
        program = require(path.resolve(__dirname, "..", "..", "index.ts"));
    } catch (err: any) {
        await print(JSON.stringify({ error: err.message, resources }));
        return;
    }
    // Complete when nothing is in flight and nothing new arrived for a moment.
    last = Date.now();
    while (pending > 0 || Date.now() - last < 500) await new Promise((r) => setTimeout(r, 25));
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [k, v] of Object.entries(program)) {
        if (!pulumi.Output.isInstance(v)) {
            outputs[k] = v;
            continue;
        }
        if (await pulumi.isSecret(v as pulumi.Output<unknown>)) secretOutputs.push(k);
        outputs[k] = await new Promise((r) => (v as pulumi.Output<unknown>).apply(r));
    }
    await print(JSON.stringify({ resources, outputs, secretOutputs, componentOutputs }));
}
main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
