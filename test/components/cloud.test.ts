// Component wiring under pulumi mocks (nothing is applied; see harness.ts).
import { shq } from "../../core/scripts";
import * as fs from "fs";
import * as path from "path";
import { devConfig, ROOT, Run, runProgram } from "./harness";

jest.setTimeout(60000);

const last = (urn: string) => urn.split("::").pop();
/** Secret inputs arrive in their wire form: {<sig>: ..., value}. */
const unwrap = (v: any) => (v && typeof v === "object" && "value" in v ? v.value : v);

describe("dev stack resource graph (mocks)", () => {
    let run: Run;
    beforeAll(async () => {
        run = await runProgram(devConfig());
    });

    test("one component per concern, hosts named after the machines", () => {
        const types = new Set(run.resources.map((r) => r.type));
        for (const t of ["Cloud", "Lab", "Certificates", "Host", "Manager", "Registry", "Dns", "Router", "Application"]) expect(types).toContain(`matrix:index:${t}`);
        expect(run.ofType("matrix:index:Host").map((r) => r.name).sort()).toEqual(["manager", "node1", "node2", "node3"]);
        expect(run.ofType("matrix:index:Application").map((r) => r.name).sort()).toEqual(["simplewebapp1", "simplewebapp2"]);
    });

    test("every resource has a parent inside the cloud", () => {
        const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
        const root = run.ofType("matrix:index:Cloud")[0];
        const reachesRoot = (r: (typeof run.resources)[number]): boolean => r === root || (!!r.parent && byUrn.has(r.parent) && reachesRoot(byUrn.get(r.parent)!));
        expect(run.resources.filter((r) => !reachesRoot(r)).map((r) => r.name)).toEqual([]);
    });

    test("each host gets an ssh:// Docker provider gated on its bootstrap, which is gated on reachability", () => {
        for (const h of ["manager", "node1", "node2", "node3"]) {
            const provider = run.byName("pulumi:providers:docker", `${h}-docker`);
            expect(provider.inputs.host).toMatch(/^ssh:\/\/root@127\.0\.0\.1:22\d\d$/);
            expect(provider.dependencies.map(last)).toContain(`${h}-bootstrap`);
            const bootstrap = run.byName("command:remote:Command", `${h}-bootstrap`);
            expect(bootstrap.dependencies.map(last)).toContain(`${h}-reachable`);
            expect(unwrap(run.byName("command:remote:Command", `${h}-reachable`).inputs.connection).dialErrorLimit).toBe(-1);
        }
    });

    test("app containers run on their node's provider; manager services on the manager's", () => {
        const placement = run.outputs.placement as { app: string; node: string }[];
        expect(placement).toHaveLength(4);
        for (const p of placement) {
            const c = run.byName("docker:index/container:Container", `${p.app}@${p.node}`);
            expect(c.provider).toContain(`::${p.node}-docker::`);
        }
        for (const s of ["manager-registry", "manager-dns", "router"]) expect(run.byName("docker:index/container:Container", s).provider).toContain("::manager-docker::");
        // The lab's own containers use the local engine (default provider).
        expect(run.byName("docker:index/container:Container", "lab-node1").provider).not.toContain("-docker::");
    });

    test("replica inputs match what the docker provider reads back (no diff on refresh or a second up)", async () => {
        // The dev stack sets memory: 64m; swap is stated equal to it (no swap beyond the limit).
        const c = run.byName("docker:index/container:Container", "simplewebapp1@node1");
        expect([c.inputs.memory, c.inputs.memorySwap]).toEqual([64, 64]);
        // Least privilege by default.
        expect(c.inputs.securityOpts).toEqual(["no-new-privileges"]);
        expect(c.inputs.capabilities).toEqual({ drops: ["CAP_NET_RAW"] }); // Docker's stored form (core/docker-forms.ts)
        expect(c.inputs.readOnly).toBe(false);
        const cfg = devConfig();
        cfg.applications[0].cpus = 1;
        cfg.applications[1].cpus = 0.5;
        const cpus = await runProgram(cfg);
        // Whole CPUs come back as "1.0".
        expect(cpus.byName("docker:index/container:Container", "simplewebapp1@node1").inputs.cpus).toBe("1.0");
        expect(cpus.byName("docker:index/container:Container", "simplewebapp2@node3").inputs.cpus).toBe("0.5");
    });

    test("host keys are pinned: every remote connection verifies the lab's key for its host, and the local ssh client checks it strictly", () => {
        const hostKeyOf = (host: string) => unwrap(run.byName("command:local:Command", `lab-${host}-host-public-key`).inputs.create);
        for (const host of ["manager", "node1", "node2", "node3"]) {
            expect(hostKeyOf(host)).toContain(`host_${host}_ed25519.pub`);
            // The lab host's sshd gets the private half as a secret.
            const machine = run.byName("docker:index/container:Container", `lab-${host}`);
            expect(machine.secretInputs).toContain("envs");
            for (const r of run.ofType("command:remote:Command").filter((c) => c.parent.endsWith(`::${host}`)))
                expect(JSON.stringify(r.inputs.connection)).toContain("hostKey");
        }
        const sshOpts = JSON.parse(unwrap(run.byName("pulumi:providers:docker", "node1-docker").inputs.sshOpts)) as string[];
        expect(sshOpts).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", `UserKnownHostsFile=${path.join(ROOT, ".lab", "dev", "known_hosts", "node1")}`]));
        expect(sshOpts.join(" ")).not.toMatch(/StrictHostKeyChecking=(no|accept-new)|\/dev\/null/);
    });

    test("each component registers its public fields as outputs", () => {
        const registered = (type: string, name: string) => run.componentOutputs[run.byName(`matrix:index:${type}`, name).urn];
        expect(registered("Cloud", "matrix")).toEqual(["applications", "ca", "cloud", "hosts", "monitorUrl", "nodes", "placement", "pools", "registryAddress", "registryPassword", "routerHttpsUrl", "routerUrl", "tenants"]);
        expect(registered("Certificates", "certificates")).toEqual(["caCertificate", "issued"]);
        expect(registered("Lab", "lab")).toEqual(["hostKeys", "machines", "privateKey", "privateKeyPath"]);
        expect(registered("Host", "node1")).toEqual(["connection", "keyFile", "provider", "ready", "sshArgs"]);
        expect(registered("Manager", "manager")).toEqual(["image", "ready"]);
        expect(registered("Registry", "manager-registry")).toEqual(["ready"]);
        expect(registered("Dns", "manager-dns")).toEqual(["container", "ready"]);
        expect(registered("Router", "router")).toEqual(["container", "varnishVolume", "vcl"]);
        expect(registered("Application", "simplewebapp1")).toEqual(["image", "imageRef", "replicas", "version"]);
    });

    test("the router is the manager's child; apps wait for the manager's registry and DNS", () => {
        expect(run.byName("matrix:index:Router", "router").parent).toBe(run.byName("matrix:index:Manager", "manager").urn);
        expect(run.byName("docker:index/image:Image", "simplewebapp1-image").dependencies.map(last)).toEqual(expect.arrayContaining(["manager-registry-ready", "manager-dns-reload"]));
    });

    test("files on hosts do not ask sshd for the previous output (a stock sshd refuses it with a warning)", () => {
        expect(run.byName("command:remote:Command", "router-vcl").inputs.addPreviousOutputInEnv).toBe(false);
    });

    test("the VCL is written and switched only after every replica passed its health gate", () => {
        for (const name of ["router-vcl", "router-vcl-load"]) {
            const deps = run.byName("command:remote:Command", name).dependencies.map(last);
            for (const p of run.outputs.placement as { app: string; node: string }[]) expect(deps).toContain(`${p.app}@${p.node}-healthy`);
        }
    });

    test("a replica: named by its version, on a picked host port, health-checked, gated, removed with a stop", async () => {
        const c = run.byName("docker:index/container:Container", "simplewebapp1@node1");
        expect(c.inputs.name).toMatch(/^matrix-simplewebapp1-node1-[0-9a-f]{12}$/);
        const pick = run.byName("command:remote:Command", "simplewebapp1@node1-port");
        // Ports fixed by any app on the node are never picked.
        const fixed = devConfig();
        fixed.applications[1] = { ...fixed.applications[1], replicas: undefined, nodes: ["node1"], hostPort: 20123 };
        expect((await runProgram(fixed)).byName("command:remote:Command", "simplewebapp1@node1-port").inputs.stdin).toMatch(/^used=" 20123 /m);
        expect(pick.inputs.triggers).toEqual([c.inputs.name.split("-").pop()]);
        // Scripts run from stdin: a failure quotes "sh -s", not the script.
        expect(pick.inputs.create).toBe("sh -s");
        expect(pick.inputs.stdin).toContain("flock");
        expect(c.inputs.ports).toEqual([{ internal: 8080, external: Number(/^port=(\d+)$/m.exec(pick.inputs.stdin)![1]), ip: "10.10.10.11" }]);
        expect(c.dependencies.map(last)).toContain("simplewebapp1@node1-port");
        expect(c.inputs.healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(c.inputs.healthcheck.tests[1]).toContain("http://127.0.0.1:8080/simplewebapp1/");
        expect(c.inputs.healthcheck).toMatchObject({ interval: "1s", timeout: "2s", retries: 3, startPeriod: "10s" });
        expect(c.inputs.destroyGraceSeconds).toBeGreaterThan(0);
        expect(c.deleteBeforeReplace).toBe(false);
        const gate = run.byName("command:remote:Command", "simplewebapp1@node1-healthy");
        expect(gate.dependencies.map(last)).toContain("simplewebapp1@node1");
        expect(gate.inputs.create).toBe("sh -s");
        expect(gate.inputs.stdin).toContain("simplewebapp1@node1-id");
    });

    test("rolling waves: a replica starts after the previous one is healthy; parallelism 2 starts both at once", async () => {
        const deps = (r: typeof run, n: string) => r.byName("docker:index/container:Container", n).dependencies.map(last);
        const [first, second] = (run.outputs.placement as { app: string; node: string }[]).filter((p) => p.app === "simplewebapp1").map((p) => `simplewebapp1@${p.node}`);
        expect(deps(run, first)).not.toContain(expect.stringMatching(/-healthy$/));
        expect(deps(run, second)).toContain(`${first}-healthy`);
        const cfg = devConfig();
        cfg.applications[0].update = { parallelism: 2 };
        const wide = await runProgram(cfg);
        expect(deps(wide, second)).not.toContain(`${first}-healthy`);
    });

    test("image retention: the registry collects after the pushes and the rollout; each node prunes after its replica is healthy", async () => {
        const gc = run.byName("command:remote:Command", "registry-gc");
        expect(gc.parent).toBe(run.byName("matrix:index:Manager", "manager").urn);
        expect(gc.dependencies.map(last)).toEqual(expect.arrayContaining(["simplewebapp1-image", "simplewebapp2-image", "simplewebapp1@node1-healthy"]));
        expect(gc.inputs.create).toContain("tail -n +6");
        expect(gc.inputs.create).toContain("docker-registry garbage-collect --delete-untagged");
        const prune = run.byName("command:remote:Command", "simplewebapp1@node1-prune");
        expect(prune.dependencies.map(last)).toContain("simplewebapp1@node1-healthy");
        expect(prune.inputs.create).toContain("manager.matrix:5000/simplewebapp1");
        // An image from elsewhere is neither collected nor pruned.
        const cfg = devConfig();
        cfg.applications = [{ name: "web", image: "nginx:1.27", port: 80, replicas: 1 }];
        const external = await runProgram(cfg);
        expect(external.resources.filter((r) => /-prune$|^registry-gc$/.test(r.name))).toEqual([]);
    });

    test("fixed host ports (plan file, hostPort) cannot hold two versions: those replicas are replaced stop-first", async () => {
        const cfg = devConfig();
        cfg.applications[0].hostPort = 8081;
        const fixed = await runProgram(cfg);
        const c = fixed.byName("docker:index/container:Container", "simplewebapp1@node1");
        expect(c.deleteBeforeReplace).toBe(true);
        expect(c.inputs.ports[0].external).toBe(8081);
        expect(fixed.resources.some((r) => r.name === "simplewebapp1@node1-port")).toBe(false);
    });

    test("SSH keys are secret inputs; the key command logs nothing", () => {
        expect(run.byName("command:remote:Command", "node1-bootstrap").secretInputs).toContain("connection");
        expect(run.byName("command:local:Command", "lab-ssh-key").inputs.logging).toBe("none");
    });

    test("stack outputs: router URL, app URLs, nodes, registry, placement", () => {
        expect(run.outputs.routerUrl).toBe("http://127.0.0.1:8080/");
        expect(run.outputs.registry).toBe("manager.matrix:5000");
        expect((run.outputs.applications as any).simplewebapp1.urls).toEqual(["http://127.0.0.1:8080/simplewebapp1/", "https://127.0.0.1:8443/simplewebapp1/"]);
        expect(run.outputs.nodes).toEqual([
            { name: "node1", address: "10.10.10.11" },
            { name: "node2", address: "10.10.10.12" },
            { name: "node3", address: "10.10.10.13" },
        ]);
    });
});

describe("secrets stay secret (ssh mode, registry auth, secret env)", () => {
    let run: Run;
    beforeAll(async () => {
        const cfg = devConfig();
        Object.assign(cfg, {
            mode: "ssh",
            lab: undefined,
            ssh: { privateKey: { secret: "sshKey" } },
            registry: { auth: { username: "ops", password: { secret: "registryPassword" } } },
        });
        cfg.applications[0].env = { API_TOKEN: { secret: "apiToken" } };
        cfg.nodes[0].ssh = { hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownKeyOfNode1" };
        run = await runProgram(cfg, { sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n", registryPassword: "s3cret-pw", apiToken: "t0ken" });
    });

    test("the program ran", () => expect(run.error).toBeUndefined());

    test("password, key and env secrets are secret inputs", () => {
        expect(run.byName("command:remote:Command", "manager-registry-htpasswd").secretInputs).toEqual(expect.arrayContaining(["stdin", "connection"]));
        expect(run.byName("command:remote:Command", "manager-registry-htpasswd").inputs.logging).toBe("none");
        expect(run.byName("docker:index/image:Image", "simplewebapp1-image").secretInputs).toContain("registry");
        expect(run.byName("docker:index/container:Container", "simplewebapp1@node1").secretInputs).toContain("envs");
        expect(run.byName("pulumi:providers:docker", "node1-docker").secretInputs).toContain("registryAuth");
    });

    test("the htpasswd script names the services image (an Output resolved, not stringified)", () => {
        const create = unwrap(run.byName("command:remote:Command", "manager-registry-htpasswd").inputs.create);
        expect(create).toMatch(/ matrix-services:[0-9a-f]{16} /);
        expect(create).not.toMatch(/Output|toString/);
    });

    test("no secret value appears in any command string or plain input", () => {
        for (const r of run.ofType("command:remote:Command").concat(run.ofType("command:local:Command"))) {
            // Scripts are never secret, so the check below really reads them.
            for (const k of ["create", "update", "delete"]) expect(r.secretInputs).not.toContain(k);
        }
        for (const r of run.resources) {
            const plain = JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !r.secretInputs.includes(k))));
            expect(plain).not.toMatch(/s3cret-pw|t0ken|PRIVATE KEY/);
        }
        // The registry's password is one stack output, and a secret one (for `matrix images`).
        expect(run.secretOutputs).toEqual(["registryPassword"]);
        expect(run.outputs.registryPassword).toBe("s3cret-pw");
        const plainOutputs = Object.fromEntries(Object.entries(run.outputs).filter(([k]) => !run.secretOutputs.includes(k)));
        expect(JSON.stringify(plainOutputs)).not.toMatch(/s3cret-pw|t0ken|PRIVATE KEY/);
    });

    test("ssh mode: a secret key reaches the provider's ssh client as a private file in the project, removed on destroy", () => {
        // Provider inputs that are not strings travel JSON-encoded.
        const opts = JSON.parse(unwrap(run.byName("pulumi:providers:docker", "node2-docker").inputs.sshOpts)) as string[];
        const file = opts[opts.indexOf("-i") + 1];
        expect(file).toBe(path.join(ROOT, ".lab", "dev", "keys", "sshKey.key"));
        // MOCKS: the command is not run; its script and wiring are what is checked here.
        const writer = run.byName("command:local:Command", "ssh-key-sshKey");
        expect(writer.secretInputs).toContain("stdin");
        expect(writer.inputs.logging).toBe("none");
        expect(writer.inputs.create).toContain("umask 077");
        expect(writer.inputs.create).toContain(`> ${shq(file)}`);
        expect(writer.inputs.delete).toBe(`rm -f ${shq(file)}`);
        // One writer per key, however many hosts use it.
        expect(run.ofType("command:local:Command").filter((r) => r.name.startsWith("ssh-key-"))).toHaveLength(1);
    });

    test("ssh mode: a configured host key is pinned as given; other hosts' keys are recorded at first contact", () => {
        const known = (host: string) => unwrap(run.byName("command:local:Command", `${host}-known-host`).inputs.create);
        expect(known("node1")).toContain("10.10.10.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownKeyOfNode1");
        expect(run.ofType("command:local:Command").some((r) => r.name === "node1-host-key")).toBe(false);
        expect(unwrap(run.byName("command:local:Command", "node2-host-key").inputs.create)).toContain("ssh-keyscan -T 5 -t ed25519 -p 22 10.10.10.12");
        expect(known("node2")).toMatch(/10\.10\.10\.12 ssh-ed25519 AAAAmock/);
    });

    test("ssh mode: no lab, providers dial the hosts' addresses", () => {
        expect(run.ofType("matrix:index:Lab")).toEqual([]);
        expect(run.byName("pulumi:providers:docker", "node2-docker").inputs.host).toBe("ssh://root@10.10.10.12:22");
    });
});

describe("names", () => {
    test("app and node names that join alike with '-' still give distinct resources", async () => {
        const cfg = devConfig();
        cfg.nodes = [{ name: "n1", address: "10.10.10.11" }, { name: "a-n1", address: "10.10.10.12" }];
        cfg.applications = [
            { name: "web", image: "nginx:1.27", port: 80, nodes: ["a-n1"] },
            { name: "web-a", image: "nginx:1.27", port: 80, nodes: ["n1"] },
        ];
        const run = await runProgram(cfg);
        expect(run.error).toBeUndefined();
        expect(run.ofType("docker:index/container:Container").map((r) => r.name).filter((n) => n.includes("@") && !n.startsWith("monitoring-")).sort()).toEqual(["web-a@n1", "web@a-n1"]);
    });
});

describe("bad config", () => {
    test("registers no resource and names the key", async () => {
        const cfg = devConfig();
        cfg.applications[0].replicas = 9;
        const run = await runProgram(cfg);
        expect(run.error).toMatch(/matrix:applications\[0\]\.replicas: must be ≤ number of eligible nodes \(3\)/);
        expect(run.resources).toEqual([]);
    });

    test("a misspelled top-level key is reported, not ignored (the app list under it would deploy no apps)", async () => {
        const { applications, ...cfg } = devConfig();
        const run = await runProgram({ ...cfg, aplications: applications });
        expect(run.error).toMatch(/matrix:aplications: unknown key; did you mean "applications"\?/);
        expect(run.resources).toEqual([]);
    });
});
