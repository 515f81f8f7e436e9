import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { askHosts, parseRouterSample } from "../../cli/cloud";
import { formatLogLine, logLine, mergeLogs, renderStatus, run, statusReport } from "../../cli/main";
import { parseOutputs } from "../../cli/outputs";
import { jsonLines, parseContainer, parseHostFacts } from "../../cli/parse";
import { classifySshFailure } from "../../cli/remote";
import { BACKEND_LIST, DOCKER_PS, OUTPUTS, varnishstat } from "./samples";

/** The CLI run in-process: its exit code and what it printed. */
async function matrix(...argv: string[]) {
    let out = "";
    let err = "";
    const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
}

describe("arguments", () => {
    test.each([
        [["bogus"], /unknown command 'bogus'/],
        [["status", "--bogus"], /unknown option '--bogus'/],
        [["logs"], /missing required argument 'app'/],
        [["exec", "web"], /missing required argument 'command'/],
        [[], /Usage: matrix/],
    ])("%j is a usage error (exit 2)", async (argv, message) => {
        const r = await matrix(...argv);
        expect(r.code).toBe(2);
        expect(r.err + r.out).toMatch(message);
    });

    test("--help lists every command and exits 0", async () => {
        const r = await matrix("--help");
        expect(r.code).toBe(0);
        for (const c of ["status", "ps", "images", "nodes", "describe-nodes", "logs", "stats", "ssh", "exec"]) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    });

    test("bad values are usage errors too, before anything is asked", async () => {
        expect((await matrix("logs", "web", "--tail", "lots")).code).toBe(2);
        expect((await matrix("stats", "--interval", "0")).code).toBe(2);
    });

    test("an unknown host or app is a usage error naming the ones there are", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-cli-"));
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(OUTPUTS));
        const host = await matrix("--outputs", file, "ssh", "node9");
        expect(host).toMatchObject({ code: 2, err: 'matrix: no host named "node9"; hosts: manager, node1, node2\n' });
        const app = await matrix("--outputs", file, "logs", "nope");
        expect(app).toMatchObject({ code: 2, err: 'matrix: no application named "nope"; applications: simplewebapp1\n' });
        fs.rmSync(dir, { recursive: true });
    });

    test("a failure is one line naming what failed, exit 1, no stack trace", async () => {
        const r = await matrix("--outputs", "/nonexistent/outputs.json", "status");
        expect(r).toEqual({ code: 1, out: "", err: "matrix: cannot read /nonexistent/outputs.json: ENOENT\n" });
    });
});

test("outputs of a stack deployed before the CLI existed: says what is missing and how to get it", () => {
    const { cloudInfo, hosts, ...old } = OUTPUTS;
    expect(() => parseOutputs(old, "stack dev")).toThrow(/stack dev lacks what matrix needs \(cloudInfo, hosts\): run `pulumi up`/);
});

test("ssh failures in the operator's words", () => {
    expect(classifySshFailure("ssh: connect to host 127.0.0.1 port 2202: Connection refused\r\n").kind).toBe("ssh refused");
    expect(classifySshFailure("ssh: connect to host 10.0.0.5 port 22: Connection timed out").kind).toBe("host down");
    expect(classifySshFailure("@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.").kind).toBe("host key mismatch");
    expect(classifySshFailure("No ED25519 host key is known for [127.0.0.1]:2201 and you have requested strict checking.\r\nHost key verification failed.").kind).toBe("host key mismatch");
    expect(classifySshFailure("root@127.0.0.1: Permission denied (publickey).").kind).toBe("login refused");
    expect(classifySshFailure("kex_exchange_identification: read: Connection reset by peer").kind).toBe("host down");
});

describe("status", () => {
    const outputs = parseOutputs(OUTPUTS, "test");
    const [manager, node1, node2] = outputs.hosts;
    const facts = parseHostFacts("cpus=2\nload=0.1 0.2 0.3\nmem_total_kb=1000\nmem_available_kb=250\ndisk_total_kb=4000\ndisk_used_kb=1000\ndocker=20.10.24");
    const router = parseRouterSample(`@@backends\n${BACKEND_LIST}@@stat 0\n${varnishstat(0, 0)}\n@@stat 1000000000\n${varnishstat(20, 12)}\n`);

    test("a node down: the host is down, its replica unknown to docker and sick in the router; not ok", () => {
        const report = statusReport(
            outputs,
            [
                { host: manager, facts, containers: [] },
                { host: node1, facts, containers: jsonLines(DOCKER_PS, "ps").map(parseContainer) },
                { host: node2, error: "node2: ssh refused (ssh: connect to host 127.0.0.1 port 2202: Connection refused)" },
            ],
            router,
            undefined,
        );
        expect(report.ok).toBe(false);
        expect(report.hosts.map((h) => [h.name, h.reachable])).toEqual([["manager", true], ["node1", true], ["node2", false]]);
        expect(report.hosts[0]).toMatchObject({ memoryUsedBytes: 750 * 1024, containersRunning: 0 });
        expect(report.apps).toEqual([
            {
                name: "simplewebapp1", version: "3f2a9c1b5d6e", image: "manager.matrix:5000/simplewebapp1@sha256:0123", healthy: 1, requestsPerSecond: 12,
                replicas: [
                    { node: "node1", container: "matrix-simplewebapp1-node1-3f2a9c1b", state: "running", containerHealth: "healthy", router: "healthy", probe: "3/3", requestsPerSecond: 12 },
                    { node: "node2", container: undefined, state: "unknown", containerHealth: undefined, router: "sick", probe: "0/3", requestsPerSecond: 0 },
                ],
            },
        ]);
        const text = renderStatus(report);
        expect(text).toMatch(/^Cloud matrix: DEGRADED/);
        expect(text).toMatch(/^node2 +node +10\.10\.10\.12 +down/m);
        expect(text).toMatch(/^! node2: ssh refused/m);
        expect(text).toMatch(/router: up, 20\.0 req\/s/);
    });

    test("every host up and every replica healthy in the router: ok", () => {
        const healthy = parseRouterSample(`@@backends\n${BACKEND_LIST.replace('[0, 3, "sick"]', '[3, 3, "healthy"]')}`);
        const report = statusReport(outputs, outputs.hosts.map((host) => ({ host, facts, containers: [] })), healthy, undefined);
        expect(report.ok).toBe(true);
        expect(report.router).toEqual({ reachable: true, error: undefined, requestsPerSecond: undefined });
    });

    test("the router unreachable: not ok, and the replicas' router health is unknown", () => {
        const report = statusReport(outputs, outputs.hosts.map((host) => ({ host, facts, containers: [] })), undefined, "manager: ssh refused");
        expect(report.ok).toBe(false);
        expect(report.apps[0].replicas.map((r) => r.router)).toEqual(["unknown", "unknown"]);
    });

    test("hosts that cannot be reached are reported by name, each on its own (real ssh, to a closed loopback port)", async () => {
        // Port 1 on loopback: nothing listens there, so ssh is refused at once.
        const closed = { ...node1, ssh: { ...node1.ssh, host: "127.0.0.1", port: 1 } };
        const [r] = await askHosts([closed], {});
        expect(r.error).toMatch(/^node1: (ssh refused|host down)/);
    }, 20_000);
});

describe("logs", () => {
    test("replicas' lines merged in time order (docker trims trailing zeros of the nanoseconds), each prefixed", () => {
        const lines = [
            logLine("node1", "web-a", "stdout", "2024-06-01T10:00:00.5Z GET / 200"),
            logLine("node1", "web-a", "stdout", "2024-06-01T10:00:02.000000001Z GET /b 200"),
            logLine("node2", "web-b", "stderr", "2024-06-01T10:00:00.123456789Z warn: slow"),
            logLine("node2", "web-b", "stdout", "2024-06-01T10:00:01Z GET /a 200"),
        ];
        expect(mergeLogs(lines).map((l) => formatLogLine(l, false))).toEqual([
            "[node2/web-b] warn: slow",
            "[node1/web-a] GET / 200",
            "[node2/web-b] GET /a 200",
            "[node1/web-a] GET /b 200",
        ]);
        expect(formatLogLine(lines[0], true)).toBe("[node1/web-a] 2024-06-01T10:00:00.5Z GET / 200");
    });
});

describe("pools and tenants (from the stack's outputs only)", () => {
    const withOutputs = (extra: object) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "matrix-cli-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, ...extra }));
        return file;
    };
    const pools = {
        pools: { all: { nodes: ["node1", "node2"], free: ["node2"] } },
        allocations: { ci: { pool: "all", for: "acme", exclusive: true, nodes: ["node1"] } },
        capacity: { node1: { cores: 4, coresFree: 3, memoryMiB: 4096, memoryFreeMiB: 3968, allocations: ["ci"] }, node2: { cores: null, coresFree: null, memoryMiB: null, memoryFreeMiB: null, allocations: [] } },
    };
    const tenants = { acme: [{ tenant: "acme", name: "a1", node: "node1", address: "172.31.7.2", fqdn: "a1.acme.matrix", cpuset: "0", memory: 128, ssh: "ssh -J acme@10.10.10.1:2222 dev@a1.acme.matrix" }] };

    test("pools (describe-groups): pools with free nodes, allocations, capacity per node", async () => {
        const file = withOutputs({ pools });
        const r = await matrix("--outputs", file, "describe-groups");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^all +node1,node2 +node2$/m);
        expect(r.out).toMatch(/^ci +all +acme +yes +node1$/m);
        expect(r.out).toMatch(/^node1 +3\/4 +3968\/4096 MiB +ci$/m);
        expect(r.out).toMatch(/^node2 +- +- +-$/m);
        expect(JSON.parse((await matrix("--outputs", file, "--json", "pools")).out)).toEqual(pools);
        expect((await matrix("--outputs", withOutputs({}), "pools")).out).toBe("no pools (config key matrix:pools)\n");
    });

    test("tenants: each instance with its node, address and ssh line", async () => {
        const r = await matrix("--outputs", withOutputs({ tenants }), "tenants");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^acme +a1 +node1 +172\.31\.7\.2 +0 +128 MiB +ssh -J acme@10\.10\.10\.1:2222 dev@a1\.acme\.matrix$/m);
        expect(JSON.parse((await matrix("--outputs", withOutputs({ tenants }), "--json", "tenants")).out)).toEqual([{ ...tenants.acme[0] }]);
    });
});
