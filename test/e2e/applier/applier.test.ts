// End-to-end test of the test applier on the local Docker engine, with the demo program in
// fixtures/demo: up, up again (nothing changes), a config change that replaces one container,
// an in-place update, removing a resource, destroy, and loud failures.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { actionOf, forceCleanup, inspect, randomSuffix, runApplier, sh } from "./helpers";

const FIXTURE = path.join(__dirname, "fixtures", "demo");
const PROGRAM = path.join(FIXTURE, "index.ts");
const PREFIX = `applier-test-${randomSuffix()}`;
const TOKEN = `tok-${randomSuffix()}-${randomSuffix()}`;
// A /24 unlikely to collide with other networks on the engine.
const NET3 = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;

let work: string;
let statePath: string;
const stacks: string[] = [];

function writeStack(file: string, edit: (cfg: any) => void = () => undefined): string {
    const doc = YAML.parse(fs.readFileSync(path.join(FIXTURE, "Pulumi.demo.yaml"), "utf8"));
    const c = doc.config;
    c["applier-demo:prefix"] = PREFIX;
    c["applier-demo:tmpDir"] = path.join(work, "files");
    c["applier-demo:network"] = { subnet: `${NET3}.0/24`, gateway: `${NET3}.1` };
    c["applier-demo:containers"].web.ipv4 = `${NET3}.10`;
    edit(c);
    const p = path.join(work, file);
    fs.writeFileSync(p, YAML.stringify(doc));
    return p;
}

function up(stackFile: string, state = statePath, extra: string[] = []) {
    if (!stacks.includes(state)) stacks.push(state);
    return runApplier(["up", "--program", PROGRAM, "--stack", "demo", "--state", state, "--config", stackFile,
        "--secret", `applier-demo:token=${TOKEN}`, ...extra]);
}

function expectOk(r: ReturnType<typeof up>) {
    if (r.code !== 0) throw new Error(`applier failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    expect(r.summary?.ok).toBe(true);
}

beforeAll(() => {
    const info = sh(["docker", "info", "--format", "{{.ServerVersion}}"]);
    if (info.code !== 0) throw new Error(`docker engine not reachable (run scripts/start-dockerd.sh): ${info.err}`);
    if (sh(["docker", "image", "inspect", "debian:bookworm-slim"]).code !== 0) {
        throw new Error("image debian:bookworm-slim missing (run scripts/bootstrap-base-image.sh)");
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "applier-test-"));
    statePath = path.join(work, "state.json");
});

afterAll(() => {
    for (const s of stacks) if (fs.existsSync(s)) runApplier(["destroy", "--state", s]);
    forceCleanup(PREFIX);
    fs.rmSync(work, { recursive: true, force: true });
});

describe("test applier on the local engine", () => {
    let webId: string;
    let workerId: string;

    test("up creates the command, network, volume and both containers", () => {
        const r = up(writeStack("Pulumi.demo.yaml"));
        expectOk(r);
        expect(r.summary).toMatchObject({ created: 6, updated: 0, replaced: 0, deleted: 0, unchanged: 0 });
        expect(r.stderr).toMatch(/\+ docker:index\/container:Container web \(/);

        const web = inspect("container", `${PREFIX}-web`);
        const worker = inspect("container", `${PREFIX}-worker`);
        expect(web?.State.Running).toBe(true);
        expect(worker?.State.Running).toBe(true);
        webId = web.Id;
        workerId = worker.Id;
        expect(web.Config.Image).toBe("debian:bookworm-slim");
        expect(web.Config.Cmd).toEqual(["sleep", "infinity"]);
        expect(web.Config.Env).toContain("GREETING=hello from web");
        expect(web.Config.Labels["applier-test"]).toBe(PREFIX);
        expect(web.HostConfig.Memory).toBe(64 * 1024 * 1024);
        expect(web.HostConfig.Init).toBe(true);
        expect(web.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
        expect(web.HostConfig.Binds).toEqual([`${PREFIX}-data:/data`]);
        const webNet = web.NetworkSettings.Networks[`${PREFIX}-net`];
        expect(webNet.IPAddress).toBe(`${NET3}.10`);
        expect(webNet.Aliases).toContain("web");
        expect(Object.keys(web.NetworkSettings.Networks)).toEqual([`${PREFIX}-net`]);
        // The worker's env carries the command's stdout (default provider).
        expect(worker.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello from worker", "MARKER=marker-ok"]));
        expect(worker.HostConfig.Memory).toBe(32 * 1024 * 1024);

        const net = inspect("network", `${PREFIX}-net`);
        expect(net.IPAM.Config[0]).toMatchObject({ Subnet: `${NET3}.0/24`, Gateway: `${NET3}.1` });
        expect(net.Labels["applier-test"]).toBe(PREFIX);
        const vol = inspect("volume", `${PREFIX}-data`);
        expect(vol.Labels["applier-test"]).toBe(PREFIX);

        // The local command ran with the secret; the secret never shows in the logs.
        expect(fs.readFileSync(path.join(work, "files", "marker.txt"), "utf8")).toBe(TOKEN);
        expect(r.stderr).toContain("token=[secret]");
        expect(r.stderr).not.toContain(TOKEN);
        expect(r.stdout).not.toContain(TOKEN);
        expect(r.summary.outputs).toMatchObject({
            webName: `${PREFIX}-web`,
            workerName: `${PREFIX}-worker`,
            networkName: `${PREFIX}-net`,
            markerStdout: "[secret]",
        });
        expect(fs.statSync(statePath).mode & 0o777).toBe(0o600);
    });

    test("a second up changes nothing", () => {
        const r = up(writeStack("Pulumi.demo.yaml"));
        expectOk(r);
        expect(r.summary).toMatchObject({ created: 0, updated: 0, replaced: 0, deleted: 0, unchanged: 6 });
        expect(inspect("container", `${PREFIX}-web`).Id).toBe(webId);
        expect(inspect("container", `${PREFIX}-worker`).Id).toBe(workerId);
    });

    test("a config change for one container replaces only that container", () => {
        const r = up(writeStack("Pulumi.changed.yaml", (c) => { c["applier-demo:containers"].worker.greeting = "hi again"; }));
        expectOk(r);
        expect(r.summary).toMatchObject({ created: 0, updated: 0, replaced: 1, deleted: 0, unchanged: 5 });
        expect(actionOf(r.summary, "worker")).toBe("replaced");
        expect(actionOf(r.summary, "web")).toBe("unchanged");
        expect(inspect("container", `${PREFIX}-web`).Id).toBe(webId);
        const worker = inspect("container", `${PREFIX}-worker`);
        expect(worker.Id).not.toBe(workerId);
        expect(worker.Config.Env).toContain("GREETING=hi again");
        workerId = worker.Id;
    });

    test("a memory change updates the container in place", () => {
        const r = up(writeStack("Pulumi.memory.yaml", (c) => {
            c["applier-demo:containers"].worker.greeting = "hi again";
            c["applier-demo:containers"].worker.memoryMb = 48;
        }));
        expectOk(r);
        expect(r.summary).toMatchObject({ created: 0, updated: 1, replaced: 0, deleted: 0, unchanged: 5 });
        const worker = inspect("container", `${PREFIX}-worker`);
        expect(worker.Id).toBe(workerId);
        expect(worker.HostConfig.Memory).toBe(48 * 1024 * 1024);
    });

    test("a resource no longer declared is deleted", () => {
        const r = up(writeStack("Pulumi.drop.yaml", (c) => { c["applier-demo:dropWorker"] = true; }));
        expectOk(r);
        expect(r.summary).toMatchObject({ created: 0, replaced: 0, deleted: 1 });
        expect(actionOf(r.summary, "worker")).toBe("deleted");
        expect(inspect("container", `${PREFIX}-worker`)).toBeUndefined();
        expect(inspect("container", `${PREFIX}-web`).Id).toBe(webId);
    });

    test("destroy removes everything and empties the state", () => {
        const r = runApplier(["destroy", "--state", statePath]);
        expect(r.code).toBe(0);
        expect(r.summary).toMatchObject({ ok: true, deleted: 5 });
        expect(inspect("container", `${PREFIX}-web`)).toBeUndefined();
        expect(inspect("network", `${PREFIX}-net`)).toBeUndefined();
        expect(inspect("volume", `${PREFIX}-data`)).toBeUndefined();
        expect(fs.existsSync(path.join(work, "files", "marker.txt"))).toBe(false);
        expect(JSON.parse(fs.readFileSync(statePath, "utf8")).resources).toEqual({});
    });
});

describe("loud failures", () => {
    function failing(mode: string) {
        const state = path.join(work, `state-${mode}.json`);
        const r = up(writeStack(`Pulumi.${mode}.yaml`, (c) => {
            c["applier-demo:failMode"] = mode;
            c["applier-demo:prefix"] = `${PREFIX}-${mode}`;
        }), state);
        return { r, state };
    }

    function destroyAndCheck(state: string, prefix: string) {
        const d = runApplier(["destroy", "--state", state]);
        expect(d.code).toBe(0);
        const left = sh(["docker", "ps", "-a", "--filter", `name=^${prefix}`, "--format", "{{.Names}}"]).out;
        expect(left).toBe("");
        // What a failed run leaves applied is usually the network and volume (no dependencies).
        expect(inspect("network", `${prefix}-net`)).toBeUndefined();
        expect(inspect("volume", `${prefix}-data`)).toBeUndefined();
    }

    test("an unknown resource type fails the run with its type and name", () => {
        const { r, state } = failing("bad-type");
        expect(r.code).toBe(1);
        expect(r.summary?.ok).toBe(false);
        expect(r.stderr).toContain('docker:index/service:Service "unsupported-service": resource type docker:index/service:Service is not implemented');
        destroyAndCheck(state, `${PREFIX}-bad-type`);
    });

    test("an unsupported input fails the run with the input name", () => {
        const { r, state } = failing("bad-input");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('docker:index/container:Container "unsupported-input": input "gpus" is not implemented');
        destroyAndCheck(state, `${PREFIX}-bad-input`);
    });

    test("a program that throws fails the run with its message", () => {
        const { r, state } = failing("throw");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("demo program failed on purpose");
        destroyAndCheck(state, `${PREFIX}-throw`);
    });

    test("a failing command fails the run with its output, and what was applied can be destroyed", () => {
        const state = path.join(work, "state-cmdfail.json");
        // tmpDir under a regular file: mkdir fails inside the create command.
        const blocker = path.join(work, "blocker");
        fs.writeFileSync(blocker, "x");
        const r = up(writeStack("Pulumi.cmdfail.yaml", (c) => {
            c["applier-demo:prefix"] = `${PREFIX}-cmdfail`;
            c["applier-demo:tmpDir"] = path.join(blocker, "sub");
        }), state);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/command:local:Command "marker": create command failed \(exit 1\)/);
        expect(r.stderr).toMatch(/mkdir/);
        expect(r.stderr).toContain("token=[secret]");
        expect(r.stderr).not.toContain(TOKEN);
        destroyAndCheck(state, `${PREFIX}-cmdfail`);
    });
});
