// End to end (NOT RUN by its author: needs the Docker lab): tenants, instances and pools on the
// lab. Two tenants' instances reached only through the jump host on the manager (published on
// 127.0.0.1:<lab.jumpPort>), limits observed from the node, pools allocated 2 of 3 then a third
// refused, and an appended allocation that leaves the others untouched in an engine preview.
// Bounded: every command has a timeout; traffic goes to 127.0.0.1 and lab containers only.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLOUD, must, onHost, requireTools, sh } from "../../lab/driver/lab";
import { LabStack } from "../../lab/driver/stack";

jest.setTimeout(900_000);
const JUMP_PORT = 2200; // lab.jumpPort (default)
let lab: LabStack;
let dir: string;
let outputs: any;
const key = (name: string) => path.join(dir, name);
const pub = (name: string) => fs.readFileSync(`${key(name)}.pub`, "utf8").trim();

/** The dev stack plus two tenants, three pools' worth of nodes, and allocations. */
function tenantsConfig(config: any, extraAllocations: any[] = []) {
    for (const n of config["matrix:nodes"]) Object.assign(n, { cpus: 2, memory: "2g", groups: [...(n.groups ?? []), "pool"] });
    config["matrix:tenants"] = [{ name: "acme", keys: [pub("acme")] }, { name: "beta", keys: [pub("beta")] }];
    config["matrix:pools"] = [{ name: "all", selector: { group: "pool" } }];
    config["matrix:allocations"] = [{ name: "first", pool: "all", count: 2, tenant: "acme" }, ...extraAllocations];
    config["matrix:instances"] = [
        { tenant: "acme", name: "a1", allocation: "first", cpus: 1, memory: "128m", disk: "200m", bandwidth: { in: "8mbit", out: "8mbit" } },
        { tenant: "acme", name: "a2", allocation: "first", cpus: 1, memory: "128m" },
        { tenant: "beta", name: "b1", pool: "all", memory: "128m" },
    ];
}

/** ssh through the jump host with a key; bounded. */
function ssh(keyName: string, tenant: string, target: string, command: string, timeoutMs = 30_000) {
    const opts = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-i", key(keyName)];
    const proxy = `ssh ${opts.join(" ")} -p ${JUMP_PORT} -W %h:%p ${tenant}@127.0.0.1`;
    return sh(["ssh", ...opts, "-o", `ProxyCommand=${proxy}`, target, command], timeoutMs);
}
const instance = (tenant: string, name: string) => outputs.tenants[tenant].find((x: any) => x.name === name);
const onInstanceNode = (tenant: string, name: string, args: string[]) => onHost(instance(tenant, name).node, args);
const container = (tenant: string, name: string) => `${CLOUD}-${tenant}-${name}`;

beforeAll(async () => {
    requireTools(["ssh", "openssh-client"], ["ssh-keygen", "openssh-client"]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-tenants-"));
    for (const k of ["acme", "beta", "stranger"]) must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key(k)]);
    lab = await LabStack.create((c) => tenantsConfig(c));
    outputs = (await lab.up()).outputs;
});

afterAll(async () => {
    // A failed destroy fails the suite: a lab left behind would fail the next run's clean start.
    try {
        await lab?.teardown();
    } finally {
        await lab?.remove();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("refresh right after up reads the tenants' resources back unchanged, and the next preview is empty", async () => {
    expect(await lab.settled()).toEqual({ refresh: {}, preview: {}, steps: [] });
});

describe("access", () => {
    test("the tenant's key through the jump host reaches its instance", () => {
        const r = ssh("acme", "acme", `dev@${instance("acme", "a1").fqdn}`, "hostname");
        expect(r.out.trim()).toBe("a1");
    });
    test("another key, or another tenant's instance, or a shell on the jump host, is refused", () => {
        expect(ssh("stranger", "acme", `dev@${instance("acme", "a1").fqdn}`, "true").code).not.toBe(0);
        expect(ssh("beta", "beta", `dev@${instance("acme", "a1").fqdn}`, "true").code).not.toBe(0);
        const shell = sh(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-i", key("acme"), "-p", String(JUMP_PORT), "acme@127.0.0.1", "id"], 20_000);
        expect(shell.out).not.toMatch(/uid=/);
    });
    test("directly, without the jump host, the instance is unreachable", () => {
        const a1 = instance("acme", "a1");
        const direct = sh(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=no", "-i", key("acme"), `dev@${a1.address}`, "true"], 15_000);
        expect(direct.code).not.toBe(0);
        // The negatives below mean something: the manager (the jump host's network) does reach it.
        const tcp = (host: string, container: string[]) => sh(["docker", "exec", `${CLOUD}-lab-${host}`, ...container, "timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${a1.address}/22`], 20_000).code;
        expect(tcp("manager", [])).toBe(0);
        // An app container on the instance's own node has a route to it, and the firewall refuses it.
        const app = outputs.placement.find((p: any) => p.node === a1.node);
        expect(app).toBeDefined();
        expect(tcp(a1.node, ["docker", "exec", app.container])).not.toBe(0);
    });
    test("tenant A cannot reach tenant B's instance (same or another node)", () => {
        const b = instance("beta", "b1");
        const r = sh(["docker", "exec", `${CLOUD}-lab-${instance("acme", "a1").node}`, "docker", "exec", container("acme", "a1"), "timeout", "5", "bash", "-c", `echo > /dev/tcp/${b.address}/22`], 20_000);
        expect(r.code).not.toBe(0);
    });
});

describe("limits, observed from the node", () => {
    test("cpuset in the container's cgroup", () => {
        const a1 = instance("acme", "a1");
        expect(onInstanceNode("acme", "a1", ["docker", "inspect", "-f", "{{.HostConfig.CpusetCpus}}", container("acme", "a1")]).trim()).toBe(a1.cpuset);
        const inside = onInstanceNode("acme", "a1", ["docker", "exec", container("acme", "a1"), "sh", "-c", "cat /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null || cat /sys/fs/cgroup/cpuset/cpuset.cpus"]);
        expect(inside.trim()).toBe(a1.cpuset);
    });
    test("a process above the memory hard limit is killed", () => {
        const t0 = Date.now();
        const r = sh(["docker", "exec", `${CLOUD}-lab-${instance("acme", "a1").node}`, "docker", "exec", container("acme", "a1"), "timeout", "60", "sh", "-c", "head -c 400m /dev/zero | tail > /dev/null"], 90_000);
        expect(r.code).toBe(137);
        console.log(`limits: ${JSON.stringify({ memoryLimit: "128m", hogKilledAfterSeconds: (Date.now() - t0) / 1000 })}`);
    });
    test("the disk watchdog stops a writer over its limit within two intervals", async () => {
        const node = instance("acme", "a1").node;
        const t0 = Date.now();
        sh(["docker", "exec", `${CLOUD}-lab-${node}`, "docker", "exec", container("acme", "a1"), "sh", "-c", "dd if=/dev/zero of=/var/tmp/fill bs=1M count=300 2>/dev/null; sleep 60"], 90_000);
        const state = onHost(node, ["docker", "inspect", "-f", "{{.State.Running}}", container("acme", "a1")]).trim();
        expect(state).toBe("false");
        expect(Date.now() - t0).toBeLessThan(60_000);
        console.log(`limits: ${JSON.stringify({ disk: "200m", writerStoppedAfterSeconds: (Date.now() - t0) / 1000 })}`);
        onHost(node, ["sh", "-c", `docker start ${container("acme", "a1")} && docker exec ${container("acme", "a1")} rm -f /var/tmp/fill`]);
    });
    /** Seconds for 4 MiB through the jump host, into the instance or out of it (~4.2 s at 8 mbit/s). */
    const transfer = (direction: "in" | "out") => {
        const proxy = `ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i ${key("acme")} -p ${JUMP_PORT} -W %h:%p acme@127.0.0.1`;
        const target = `-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i ${key("acme")} -o ProxyCommand='${proxy}' dev@${instance("acme", "a1").fqdn}`;
        const line = direction === "in" ? `head -c 4194304 /dev/zero | ssh ${target} 'cat > /dev/null'` : `ssh ${target} 'head -c 4194304 /dev/zero' > /dev/null`;
        const t0 = Date.now();
        const t = sh(["sh", "-c", line], 60_000);
        expect(t.code).toBe(0);
        return (4194304 * 8) / 1e6 / ((Date.now() - t0) / 1000);
    };
    test("a bounded transfer into and out of the instance is throttled to 8 mbit/s ±20 %", () => {
        expect(ssh("acme", "acme", `dev@${instance("acme", "a1").fqdn}`, "true").code).toBe(0);
        const measured = { in: transfer("in"), out: transfer("out") };
        console.log(`limits: ${JSON.stringify({ bandwidth: "8mbit", measuredMbit: { in: Number(measured.in.toFixed(2)), out: Number(measured.out.toFixed(2)) } })}`);
        for (const mbit of Object.values(measured)) {
            expect(mbit).toBeGreaterThan(8 * 0.8 * 0.8); // ssh handshakes count against the rate too
            expect(mbit).toBeLessThan(8 * 1.2);
        }
    });
});

describe("pools", () => {
    test("describe: 2 of 3 taken by the first allocation", () => {
        expect(outputs.pools.allocations.first.nodes).toHaveLength(2);
        expect(outputs.pools.pools.all.free).toHaveLength(1);
    });
    test("a third allocation of 2 fails clearly before any change; freeing the first lets it succeed", async () => {
        lab.configure((c) => tenantsConfig(c, [{ name: "second", pool: "all", count: 2, purpose: "ci" }]));
        const err = await lab.preview().then(() => "", (e: Error) => e.message);
        expect(err).toMatch(/matrix:allocations\[1\]\.count: allocation "second" asks for 2 machines of pool "all", which has 1 free machine/);
        lab.configure((c) => {
            tenantsConfig(c);
            c["matrix:allocations"] = [{ name: "second", pool: "all", count: 2, purpose: "ci" }];
            c["matrix:instances"] = c["matrix:instances"].filter((x: any) => !x.allocation);
        });
        const p = await lab.preview();
        expect(p.steps.length).toBeGreaterThan(0);
    });
    test("appending an allocation leaves the existing ones untouched (engine preview)", async () => {
        lab.configure((c) => tenantsConfig(c, [{ name: "spare", pool: "all", count: 1, purpose: "spare", exclusive: false }]));
        const p = await lab.preview();
        const touched = p.steps.filter((s) => /Tenancy|tenant|acme|beta/.test(s.urn) && s.op !== "same");
        expect(touched).toEqual([]);
    });
});
