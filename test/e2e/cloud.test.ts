// End to end: the dev stack applied for real to a lab on the local Docker engine (manager + 3
// nodes as Docker-in-Docker containers), through the test applier, then the seed's milestones,
// node loss under load, a route change under load, and destroy. Real parts only: sshd, dockerd,
// registry, dnsmasq and Varnish in the lab; requests go to 127.0.0.1 and lab addresses only.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLOUD, destroy, devStack, dig, expectApplied, get, labObjects, onHost, requireTools, servedBy, up } from "./lab";
import { applyUnderLoad, nodeLoss, successive } from "./scenario";

jest.setTimeout(600_000);

const APPS = ["simplewebapp1", "simplewebapp2"];
let work: string;
let state: string;
let outputs: any;
let firstCreated: number;

const urlOf = (app: string) => `${outputs.routerUrl}${app}/`;
const nodesOf = (app: string) => outputs.applications[app].replicas.map((r: any) => r.node).sort();
/** Inner-dockerd container ids of the apps' replicas, by container name. */
function appContainerIds(apps: string[]): Record<string, string> {
    const ids: Record<string, string> = {};
    for (const app of apps) {
        for (const node of nodesOf(app)) {
            const name = `${CLOUD}-${app}-${node}`;
            ids[name] = onHost(node, ["docker", "inspect", "--format", "{{.Id}}", name]);
        }
    }
    return ids;
}

beforeAll(() => {
    requireTools();
    const leftovers = labObjects();
    if (leftovers.length) {
        throw new Error(`the lab must start clean, but these exist: ${leftovers.join(", ")}; ` +
            `destroy them (test applier destroy with their state file, or docker rm -f / network rm / volume rm)`);
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-e2e-"));
    state = path.join(work, "state.json");
});

afterAll(async () => {
    // Whatever happened, leave nothing behind.
    if (state && fs.existsSync(state)) await destroy(state);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("pulumi up of the dev stack builds the lab and the cloud", async () => {
    const s = expectApplied(await up(devStack(work), state), "up");
    expect(s.created).toBeGreaterThan(30);
    expect(s.updated + s.replaced + s.deleted).toBe(0);
    firstCreated = s.created;
    outputs = s.outputs;
    expect(outputs.routerUrl).toBe("http://127.0.0.1:8080/");
    expect(outputs.registry).toBe("manager.matrix:5000");
    for (const app of APPS) expect(nodesOf(app)).toHaveLength(2);
});

test("a second up changes nothing", async () => {
    const s = expectApplied(await up(devStack(work), state), "second up");
    expect({ created: s.created, updated: s.updated, replaced: s.replaced, deleted: s.deleted }).toEqual({ created: 0, updated: 0, replaced: 0, deleted: 0 });
    expect(s.unchanged).toBe(firstCreated);
});

test("milestone 1: nodes pulled the app images from the manager's registry by its DNS name", () => {
    for (const app of APPS) {
        const image = outputs.applications[app].image as string;
        expect(image).toMatch(new RegExp(`^manager\\.matrix:5000/${app}:[0-9a-f]{16}$`));
        for (const node of nodesOf(app)) {
            // RepoDigests are only set on an image pulled from a registry.
            const digests = JSON.parse(onHost(node, ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image]));
            expect(digests).toEqual([expect.stringMatching(new RegExp(`^manager\\.matrix:5000/${app}@sha256:[0-9a-f]{64}$`))]);
            // The replica runs exactly that image (the program pins containers to the pulled image id).
            const id = onHost(node, ["docker", "image", "inspect", "--format", "{{.Id}}", image]);
            expect(onHost(node, ["docker", "inspect", "--format", "{{.Image}}", `${CLOUD}-${app}-${node}`])).toBe(id);
        }
    }
});

test("milestone 2: manager and node names resolve through dnsmasq", () => {
    const manager = "10.10.10.1";
    expect(dig(manager, "manager.matrix")).toEqual([manager]);
    expect(dig(manager, "registry.matrix")).toEqual([manager]);
    for (const n of outputs.nodes) expect(dig(manager, `${n.name}.matrix`)).toEqual([n.address]);
    expect(dig(manager, "nosuchhost.matrix")).toEqual([]);
    // Nodes use the manager as their resolver.
    expect(onHost("node2", ["getent", "hosts", "node3.matrix"])).toMatch(/^10\.10\.10\.13\s+node3\.matrix/);
});

test("milestone 2: through Varnish each app answers with its own body, alternating between its nodes", async () => {
    for (const app of APPS) {
        const r = await get(urlOf(app));
        expect(r.status).toBe(200);
        expect(r.body).toMatch(new RegExp(`^${app} served by node\\d$`));
        const nodes = await successive(urlOf(app), 6);
        expect([...new Set(nodes)].sort()).toEqual(nodesOf(app));
        for (let i = 1; i < nodes.length; i++) expect(nodes[i]).not.toBe(nodes[i - 1]);
    }
    const none = await get(`${outputs.routerUrl}no-such-app/`);
    expect(none.status).toBe(404);
});

test("step 9: a node dies under load without failed requests and rejoins without a redeploy", async () => {
    const victim = nodesOf(APPS[0])[0];
    const urls = APPS.map(urlOf);
    const r = await nodeLoss(urls, victim);
    const summary = { failedDown: r.down.failed, recoverySeconds: r.down.recoverySeconds, steadySeconds: r.down.steadySeconds, maxLatencyMs: r.down.maxLatencyMs, rejoinSeconds: r.rejoinSeconds, failedRejoin: r.rejoin.failed };
    console.log(`node loss (${victim}): ${JSON.stringify(summary)}`);
    expect(r.down.requests).toBeGreaterThan(200);
    expect(r.down.failures.map((f) => `${f.url} ${f.status} ${f.error ?? f.body}`)).toEqual([]);
    for (const u of urls) {
        expect(r.servedWhileDown[u]?.length).toBeGreaterThan(0);
        expect(r.servedWhileDown[u]).not.toContain(victim);
    }
    expect(r.rejoin.failures.map((f) => `${f.url} ${f.status} ${f.error ?? f.body}`)).toEqual([]);
});

test("step 4: adding a third app while load runs fails no request and recreates no existing container", async () => {
    const before = appContainerIds(APPS);
    const stack = devStack(work, (c) => {
        c["matrix:applications"].push({ name: "simplewebapp3", build: "apps/simplewebapp1", port: 8080, replicas: 2, memory: "64m" });
    });
    const r = await applyUnderLoad(APPS.map(urlOf), stack, state);
    const s = expectApplied(r.apply, "up with a third app");
    console.log(`route change: ${JSON.stringify({ applySeconds: r.apply.seconds, requests: r.load.requests, failed: r.load.failed })}`);
    expect(r.load.failures.map((f) => `${f.url} ${f.status} ${f.error ?? f.body}`)).toEqual([]);
    expect(r.load.requests).toBeGreaterThan(100);

    const changedOthers = s.actions.filter((a: any) => a.action !== "unchanged" && !a.name.startsWith("simplewebapp3") && !a.name.startsWith("router-vcl"));
    expect(changedOthers).toEqual([]);
    expect(s.actions.filter((a: any) => a.name === "router").map((a: any) => a.action)).toEqual(["unchanged"]);
    // The VCL file and its vcl.load/vcl.use re-ran; the running Varnish was not touched otherwise.
    const vcl = s.actions.filter((a: any) => a.name.startsWith("router-vcl"));
    expect(vcl.map((a: any) => a.name).sort()).toEqual(["router-vcl", "router-vcl-load"]);
    for (const a of vcl) expect(["updated", "replaced"]).toContain(a.action);
    expect(appContainerIds(APPS)).toEqual(before);

    outputs = s.outputs;
    const nodes = await successive(urlOf("simplewebapp3"), 4);
    expect([...new Set(nodes)].sort()).toEqual(nodesOf("simplewebapp3"));
    expect((await get(urlOf("simplewebapp3"))).body).toMatch(/^simplewebapp3 served by node\d$/);
});

test("destroy removes every container, network and volume; a second run starts clean", async () => {
    const d = expectApplied(await destroy(state), "destroy");
    expect(d.deleted).toBeGreaterThan(30);
    expect(labObjects()).toEqual([]);
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources).toEqual({});

    const again = expectApplied(await up(devStack(work), state), "second run");
    expect(again.created).toBe(firstCreated);
    outputs = again.outputs;
    expect(servedBy((await get(urlOf(APPS[1]))).body)).toMatch(/^node\d$/);
    expectApplied(await destroy(state), "second destroy");
    expect(labObjects()).toEqual([]);
});
