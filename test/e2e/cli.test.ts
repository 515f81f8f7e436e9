// End to end (needs the lab; not run where Docker is off limits): the `matrix` CLI against the
// dev stack applied to the lab as the e2e stack (lab/driver/stack.ts), run as an operator runs
// it: a subprocess with the stack's backend and passphrase in its environment. Every command is
// bounded in time; the only addresses involved are the lab's loopback ports.
import { spawnSync } from "child_process";
import * as path from "path";
import { labNames } from "../../core/layout";
import { CLOUD, get, must, requireTools, waitFor } from "../../lab/driver/lab";
import { LabStack, ROOT, STACK } from "../../lab/driver/stack";

jest.setTimeout(900_000);

let lab: LabStack;
let outputs: any;

function matrix(args: string[], timeoutMs = 60_000): { code: number; out: string; err: string } {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "matrix.js"), "--stack", STACK, ...args], {
        encoding: "utf8",
        timeout: timeoutMs,
        env: { ...process.env, PULUMI_BACKEND_URL: `file://${lab.backend}`, PULUMI_CONFIG_PASSPHRASE: "matrix-e2e", PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    if (r.error) throw new Error(`matrix ${args.join(" ")}: ${r.error.message}`);
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
    requireTools();
    lab = await LabStack.create();
    outputs = (await lab.up()).outputs;
});

afterAll(async () => {
    if (lab) {
        if ((await lab.resourceCount()) > 0) await lab.destroy();
        await lab.remove();
    }
});

test("status --json: every host up, every replica healthy in the router; exit 0", () => {
    const r = matrix(["--json", "status"]);
    const status = JSON.parse(r.out);
    expect(status.hosts.map((h: any) => [h.name, h.reachable, typeof h.docker])).toEqual(outputs.hosts.map((h: any) => [h.name, true, "string"]));
    for (const app of Object.keys(outputs.applications)) {
        const a = status.apps.find((x: any) => x.name === app);
        expect(a.replicas.map((x: any) => x.router)).toEqual(a.replicas.map(() => "healthy"));
        expect(a.version).toBe(outputs.applications[app].version);
    }
    expect(status.ok).toBe(true);
    expect(r.code).toBe(0);
    // The table for people names every host too.
    const table = matrix(["status"]).out;
    for (const h of outputs.hosts) expect(table).toMatch(new RegExp(`^${h.name} +${h.role} +${h.address.replace(/\./g, "\\.")} +up`, "m"));
});

test("logs <app>: lines from both replicas, each prefixed with its node", async () => {
    const app = "simplewebapp1";
    // Traffic through the router reaches both replicas (round robin).
    for (let i = 0; i < 20; i++) await get(outputs.applications[app].urls[0]);
    const r = matrix(["logs", app, "--tail", "200"]);
    expect(r.code).toBe(0);
    const nodes = new Set(r.out.split("\n").filter(Boolean).map((l) => /^\[([^/\]]+)\//.exec(l)?.[1]));
    expect([...nodes].sort()).toEqual(outputs.applications[app].replicas.map((x: any) => x.node).sort());
});

test("stats --json: numbers for every running container", () => {
    const r = matrix(["--json", "stats"], 120_000);
    expect(r.code).toBe(0);
    const sample = JSON.parse(r.out);
    const running = outputs.hosts.flatMap((h: any) => {
        const names = must(["docker", "exec", labNames(CLOUD).host(h.name), "docker", "ps", "--format", "{{.Names}}"]).split("\n").filter(Boolean);
        return names.map((n: string) => `${h.name}/${n}`);
    });
    expect(sample.containers.map((c: any) => `${c.host}/${c.name}`).sort()).toEqual(running.sort());
    for (const c of sample.containers) {
        for (const k of ["cpuPercent", "memoryBytes", "netRxBytes", "pids"]) expect(typeof c[k]).toBe("number");
    }
    for (const n of sample.nodes) expect(typeof n.cpus).toBe("number");
});

test("nodes and images answer for every host", () => {
    const nodes = JSON.parse(matrix(["--json", "nodes"]).out);
    expect(nodes.map((n: any) => n.name)).toEqual(outputs.hosts.map((h: any) => h.name));
    const images = matrix(["--json", "images"]);
    expect(images.code).toBe(0);
    const repos = JSON.parse(images.out).registry.repositories.map((r: any) => r.name);
    expect(repos).toEqual(expect.arrayContaining(Object.keys(outputs.applications)));
    expect(images.out + images.err).not.toContain("[secret]");
});

test("a node killed: status shows it down and its replicas not healthy, names it, and exits 1", async () => {
    const node = outputs.applications.simplewebapp1.replicas[0].node;
    must(["docker", "kill", labNames(CLOUD).host(node)]);
    try {
        await killedNodeStatus(node);
    } finally {
        // Back, so that the destroy reaches it (its containers come back with it).
        must(["docker", "start", labNames(CLOUD).host(node)]);
        await waitFor(`${node} reachable again in matrix status`, () => (JSON.parse(matrix(["--json", "status"]).out).hosts.every((h: any) => h.reachable) ? true : undefined), 90_000, 2000);
    }
});

async function killedNodeStatus(node: string): Promise<void> {
    const status = await waitFor(
        "the router to mark the dead node's replicas sick",
        () => {
            const r = matrix(["--json", "status"]);
            const s = JSON.parse(r.out);
            const replica = s.apps.find((a: any) => a.name === "simplewebapp1").replicas.find((x: any) => x.node === node);
            return replica.router === "sick" ? { ...r, s } : undefined;
        },
        60_000,
        1000,
    );
    expect(status.code).toBe(1);
    const h = status.s.hosts.find((x: any) => x.name === node);
    expect(h.reachable).toBe(false);
    expect(h.error).toMatch(new RegExp(`^${node}: (ssh refused|host down|timed out)`));
    expect(status.err).not.toMatch(/\n\s+at /);
    expect(status.s.hosts.filter((x: any) => x.name !== node).every((x: any) => x.reachable)).toBe(true);
}
