// The monitoring's wiring, on the mocked resource graph (mocks stand in for the Docker and
// command providers; nothing is deployed).
import { runProgram, devConfig } from "./harness";

jest.setTimeout(120_000);

describe("monitoring (mocks)", () => {
    test("cAdvisor on every node (private address, documented mounts), the monitor on the manager with the router's working directory read-only", async () => {
        const cfg = devConfig();
        const run = await runProgram(cfg);
        expect(run.error).toBeUndefined();
        const containers = run.ofType("docker:index/container:Container");
        const cadvisors = containers.filter((r) => r.name.startsWith("monitoring-cadvisor@"));
        expect(cadvisors.map((r) => r.name).sort()).toEqual(cfg.nodes.map((n: { name: string }) => `monitoring-cadvisor@${n.name}`).sort());
        for (const c of cadvisors) {
            const node = cfg.nodes.find((n: { name: string }) => c.name.endsWith(`@${n.name}`));
            expect(c.inputs.command).toContain(`--listen_ip=${node.address}`);
            expect(c.inputs.command).toContain("--port=4194");
            expect(c.inputs.command).toContain("--docker_only=true");
            expect(c.inputs.mounts.map((m: { source: string; target: string; readOnly: boolean }) => `${m.source}:${m.target}:${m.readOnly}`)).toEqual([
                "/:/rootfs:true",
                "/var/run:/var/run:true",
                "/sys:/sys:true",
                "/var/lib/docker:/var/lib/docker:true",
            ]);
        }
        const monitor = containers.find((r) => r.name === "monitoring-monitor")!;
        const router = containers.find((r) => r.name === "router")!;
        expect(monitor.inputs.networkMode).toBe("host");
        const volumeMount = (c: typeof monitor) => c.inputs.mounts.find((m: { target: string }) => m.target === "/var/lib/varnish");
        expect(volumeMount(monitor)).toMatchObject({ type: "volume", readOnly: true });
        expect(volumeMount(router).source).toBe(volumeMount(monitor).source);
        expect(router.inputs.envs).toContain("VARNISH_SECRET=/var/lib/varnish/secret");
        // The lab publishes the monitor on loopback only.
        const manager = containers.find((r) => r.name === "lab-" + cfg.manager.name) ?? containers.find((r) => (r.inputs.ports ?? []).some((p: { external: number }) => p.external === 8080));
        expect(manager!.inputs.ports).toContainEqual(expect.objectContaining({ internal: 9090, external: 9090, ip: "127.0.0.1" }));
    });

    test("the binaries are built during up: one local command runs scripts/build-cadvisor.sh, triggered by its sources' hash, before either image", async () => {
        const run = await runProgram(devConfig());
        expect(run.error).toBeUndefined();
        const build = run.byName("command:local:Command", "monitoring-binaries");
        expect(build.inputs.create).toMatch(/^exec bash \.\/scripts\/build-cadvisor\.sh cadvisor monitor$/m);
        expect(build.inputs.triggers).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
        // The images' tags carry the same hash: a changed source is a new tag, whether or not the old binaries are still there.
        const cadvisor = run.byName("docker:index/image:Image", "monitoring-cadvisor-image");
        const monitor = run.byName("docker:index/image:Image", "monitoring-monitor-image");
        for (const image of [cadvisor, monitor]) expect(image.dependencies).toContain(build.urn);
        // With an image to pull instead of the built cAdvisor, only the monitor is built.
        const online = devConfig();
        online.monitoring = { cadvisorImage: "gcr.io/cadvisor/cadvisor:v0.49.1" };
        const pulled = await runProgram(online);
        expect(pulled.byName("command:local:Command", "monitoring-binaries").inputs.create).toMatch(/^exec bash \.\/scripts\/build-cadvisor\.sh monitor$/m);
        expect(pulled.ofType("docker:index/image:Image").map((r) => r.name)).not.toContain("monitoring-cadvisor-image");
    });

    test("monitoring.enabled false: no cAdvisor, no monitor, no build, no status page", async () => {
        const cfg = devConfig();
        cfg.monitoring = { ...(cfg.monitoring ?? {}), enabled: false };
        const run = await runProgram(cfg);
        expect(run.error).toBeUndefined();
        expect(run.resources.filter((r) => /monitoring/i.test(r.name) || /Monitoring/.test(r.type)).map((r) => `${r.type}::${r.name}`)).toEqual([]);
        expect(run.outputs.monitorUrl).toBeUndefined();
        const published = run.ofType("docker:index/container:Container").flatMap((c) => (c.inputs.ports ?? []).map((p: { internal: number }) => p.internal));
        expect(published).not.toContain(9090);
    });
});
