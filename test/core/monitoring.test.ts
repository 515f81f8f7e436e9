// The monitoring's config keys (validation, one problem per mistake) and what core renders for it.
import { buildModel } from "../../core/config";
import { cadvisorArgs, monitorConfig, monitorUrl, renderMonitorConfig, VARNISH_WORKDIR } from "../../core/monitoring";
import { baseConfig, configEnv, configProblems, sampleModel } from "./fixtures";

const withMonitoring = (monitoring: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...baseConfig(), monitoring, ...extra });

describe("monitoring config", () => {
    test("defaults: port 9090 on the manager's private address, every 5 s, 30 min, cAdvisor on 4194", () => {
        const m = buildModel(baseConfig(), configEnv());
        expect(m.monitoring).toEqual({ enabled: true, port: 9090, bind: m.manager.address, intervalSeconds: 5, historySeconds: 1800, cadvisorPort: 4194, housekeepingInterval: "5s", cadvisorImage: undefined });
    });

    test("one problem per mistake, naming the key", () => {
        expect(configProblems(withMonitoring({ port: 80 }))).toEqual([expect.stringMatching(/^matrix:monitoring\.port: 80 is already used by matrix:router\.port; choose another port$/)]);
        expect(configProblems(withMonitoring({ port: 53 }))).toEqual([expect.stringMatching(/^matrix:monitoring\.port: 53 is already the port of the cloud's DNS/)]);
        expect(configProblems(withMonitoring({ cadvisorPort: 20001 }))).toEqual([expect.stringMatching(/^matrix:monitoring\.cadvisorPort: 20001 is inside matrix:hostPorts/)]);
        expect(configProblems(withMonitoring({ interval: "100ms" }))).toEqual([expect.stringMatching(/^matrix:monitoring\.interval: \(100ms\) must be between 1s and 1m$/)]);
        expect(configProblems(withMonitoring({ interval: "10s", history: "5s" }))).toEqual([expect.stringMatching(/^matrix:monitoring\.history: \(5s\) must be at least/)]);
        expect(configProblems(withMonitoring({ history: "24h", interval: "1s" }))).toEqual([expect.stringMatching(/keeps more than 20000 samples/)]);
        expect(configProblems(withMonitoring({ bind: "nope" }))).toEqual([expect.stringMatching(/^matrix:monitoring\.bind: /)]);
        expect(configProblems(withMonitoring({ cadvisorImage: "Bad Image" }))).toEqual([expect.stringMatching(/^matrix:monitoring\.cadvisorImage: /)]);
        expect(configProblems(withMonitoring({ colour: "red" }))).toHaveLength(1);
        // Two mistakes, two problems.
        expect(configProblems(withMonitoring({ port: 80, interval: "2m" }))).toHaveLength(2);
    });

    test("a fixed app host port on a node is no cAdvisor port", () => {
        const raw = baseConfig();
        raw.applications[0].hostPort = 4194;
        expect(configProblems(raw)).toEqual([expect.stringMatching(/^matrix:monitoring\.cadvisorPort: 4194 is the host port of app "[a-z0-9-]+" on node/)]);
    });

    test("lab.monitorPort must not collide with the lab's other published ports", () => {
        const lab: Record<string, any> = { ...baseConfig(), mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" } };
        for (const h of [lab.manager, ...lab.nodes]) delete h.ssh;
        expect(configProblems({ ...lab, lab: { monitorPort: 8080 } })).toEqual([expect.stringMatching(/^matrix:lab\.monitorPort: must differ from matrix:lab\.routerPort$/)]);
        expect(configProblems({ ...lab, lab: { monitorPort: 2222 } })).toEqual([expect.stringMatching(/^matrix:lab\.monitorPort: 2222 collides with the lab SSH ports/)]);
        expect(monitorUrl(buildModel(lab, configEnv()))).toBe("http://127.0.0.1:9090/");
    });
});

describe("monitoring rendering", () => {
    test("the monitor's config names every node, app, replica and router backend", () => {
        const model = sampleModel();
        const c = monitorConfig(model, Object.fromEntries(model.applications.map((a) => [a.name, { version: `v-${a.name}`, image: `img-${a.name}` }])));
        expect(c.listen).toBe("10.10.10.1:9090");
        expect(c.varnish.workdir).toBe(VARNISH_WORKDIR);
        expect(c.hosts).toEqual(model.nodes.map((n) => ({ name: n.name, role: "node", address: n.address, cadvisor: `http://${n.address}:4194` })));
        for (const [i, a] of model.applications.entries()) {
            expect(c.apps[i]).toMatchObject({ name: a.name, version: `v-${a.name}`, image: `img-${a.name}` });
            expect(c.apps[i].replicas).toEqual(a.replicas.map((r) => ({ node: r.node, address: r.address, backend: `${a.name}__${r.node}` })));
        }
        expect(JSON.parse(renderMonitorConfig(model, {}))).toMatchObject({ cloud: "matrix", intervalSeconds: 5, historySeconds: 1800 });
        expect(monitorUrl(model)).toBe("http://10.10.10.1:9090/");
    });

    test("the router's backend names in the monitor's config are the VCL's", () => {
        const model = sampleModel();
        const { renderVcl } = jest.requireActual("../../core/render");
        const vcl: string = renderVcl(model);
        for (const a of monitorConfig(model, {}).apps) for (const r of a.replicas) expect(vcl).toContain(`backend ${r.backend} {`);
    });

    test("cAdvisor: the node's private address, light housekeeping, the monitor's metrics only", () => {
        expect(cadvisorArgs(sampleModel(), "10.10.10.11")).toEqual([
            "--listen_ip=10.10.10.11",
            "--port=4194",
            "--docker_only=true",
            "--housekeeping_interval=5s",
            "--allow_dynamic_housekeeping=false",
            "--storage_duration=2m",
            "--enable_metrics=cpu,memory,network,disk",
        ]);
    });
});

describe("monitoring config", () => {
    const { buildModel } = require("../../core/config");
    const { baseConfig, configEnv } = require("./fixtures");

    test("validates with no build output present: the binaries are built during `up`, never looked for here", () => {
        const env = configEnv();
        const looked: string[] = [];
        const watching = { ...env, isFile: (f: string) => (looked.push(f), env.isFile(f)), readFile: (f: string) => (looked.push(f), env.readFile(f)) };
        const m = buildModel(baseConfig(), watching);
        expect(m.monitoring.enabled).toBe(true);
        expect(looked.filter((f) => f.startsWith("/p/images/"))).toEqual([]);
    });

    test("enabled: false takes none of its ports; a misspelled key is reported as the others are", () => {
        const off = baseConfig();
        off.monitoring = { enabled: false };
        off.router = { port: 9090 };
        expect(buildModel(off, configEnv()).monitoring.enabled).toBe(false);
        const on = baseConfig();
        on.router = { port: 9090 };
        expect(() => buildModel(on, configEnv())).toThrow(/matrix:monitoring\.port: 9090 is already used by matrix:router\.port/);
        const typo = baseConfig();
        typo.monitoring = { enable: false };
        expect(() => buildModel(typo, configEnv())).toThrow(/matrix:monitoring\.enable/);
        const wrong = baseConfig();
        wrong.monitoring = { enabled: "no" };
        expect(() => buildModel(wrong, configEnv())).toThrow(/matrix:monitoring\.enabled/);
    });
});
