import { parseRouterSample } from "../../cli/cloud";
import { jsonLines, parseBackendList, parseContainer, parseHostFacts, parseImage, parseSize, parseStats, parseVarnishstat, rates, sections } from "../../cli/parse";
import { BACKEND_LIST, DOCKER_IMAGES, DOCKER_PS, DOCKER_STATS, HOST_FACTS, varnishstat } from "./samples";

describe("docker outputs", () => {
    test("docker ps: state, health from the status text, app from the labels", () => {
        const [running, exited] = jsonLines(DOCKER_PS, "ps").map(parseContainer);
        expect(running).toMatchObject({ name: "matrix-simplewebapp1-node1-3f2a9c1b", state: "running", health: "healthy", app: "simplewebapp1", ports: "10.10.10.11:20000->8080/tcp" });
        expect(exited).toMatchObject({ state: "exited", health: "none", app: "simplewebapp2" });
        // An older client without .State: derived from the status.
        expect(parseContainer({ ID: "x", Names: "n", Image: "i", Status: "Up 2 seconds (health: starting)", Labels: "" })).toMatchObject({ state: "running", health: "starting", app: undefined });
    });

    test("docker stats: percentages and sizes in docker's units (decimal for I/O, binary for memory)", () => {
        const [s] = jsonLines(DOCKER_STATS, "stats").map(parseStats);
        expect(s).toEqual({
            id: "4c1f0e6b2a7d9e8f00112233445566778899aabbccddeeff0011223344556677",
            name: "matrix-simplewebapp1-node1-3f2a9c1b",
            cpuPercent: 0.35,
            memoryBytes: Math.round(2.934 * 1024 * 1024),
            memoryLimitBytes: 64 * 1024 * 1024,
            memoryPercent: 4.58,
            netRxBytes: 15300,
            netTxBytes: 9870,
            blockReadBytes: 1200000,
            blockWriteBytes: 4100,
            pids: 5,
        });
        // A stopped container: docker prints "--".
        expect(parseStats({ ID: "a", Name: "b", CPUPerc: "--", MemUsage: "-- / --", NetIO: "--", BlockIO: "--", PIDs: "--" })).toMatchObject({ cpuPercent: undefined, memoryBytes: undefined, pids: undefined });
    });

    test("sizes", () => {
        expect(parseSize("0B")).toBe(0);
        expect(parseSize("1.5kB")).toBe(1500);
        expect(parseSize("1GiB")).toBe(1024 ** 3);
        expect(parseSize("--")).toBeUndefined();
        expect(parseSize("3 parsecs")).toBeUndefined();
    });

    test("docker images", () => {
        expect(parseImage(JSON.parse(DOCKER_IMAGES))).toMatchObject({ repository: "manager.matrix:5000/simplewebapp1", tag: "<none>", sizeBytes: 12_500_000 });
    });

    test("a line that is not JSON names the command", () => {
        expect(() => jsonLines('{"a":1}\nCannot connect to the Docker daemon', "node1: docker ps")).toThrow(/node1: docker ps: not JSON: Cannot connect/);
    });
});

describe("host facts", () => {
    test("facts, then the containers and stats sections", () => {
        const [head, rest] = HOST_FACTS.split(/^(?=@@containers)/m);
        expect(parseHostFacts(head)).toEqual({
            cpus: 2, load: [0.52, 0.31, 0.2], memoryTotalBytes: 8000000 * 1024, memoryAvailableBytes: 6000000 * 1024,
            diskTotalBytes: 100000000 * 1024, diskUsedBytes: 25000000 * 1024, docker: "20.10.24+dfsg1", dockerError: undefined,
        });
        expect(sections(rest).map((s) => [s.name, jsonLines(s.body, s.name).length])).toEqual([["containers", 2], ["stats", 1]]);
    });

    test("docker down", () => {
        expect(parseHostFacts("cpus=2\ndocker_error=Cannot connect to the Docker daemon at unix:///var/run/docker.sock")).toMatchObject({ docker: undefined, dockerError: expect.stringMatching(/Cannot connect/) });
    });
});

describe("Varnish", () => {
    test("backend.list -j (7.1): the replicas' backends, health from the probe unless forced by admin", () => {
        expect(parseBackendList(BACKEND_LIST)).toEqual([
            { cliName: "matrix_4f2a1c.simplewebapp1__node1", app: "simplewebapp1", node: "node1", admin: "probe", healthy: true, good: 3, window: 3 },
            { cliName: "matrix_4f2a1c.simplewebapp1__node2", app: "simplewebapp1", node: "node2", admin: "probe", healthy: false, good: 0, window: 3 },
            { cliName: "matrix_4f2a1c.simplewebapp2__node3", app: "simplewebapp2", node: "node3", admin: "sick", healthy: false, good: 3, window: 3 },
        ]);
    });

    test("backend.list -j before 6.6: probe_message as text", () => {
        const old = '[ 2, ["backend.list", "-j"], 1.0, {"v.web__n1": {"type": "backend", "admin_health": "probe", "probe_message": "2/3 good", "last_change": 1.0}}]';
        expect(parseBackendList(old)).toEqual([{ cliName: "v.web__n1", app: "web", node: "n1", admin: "probe", healthy: true, good: 2, window: 3 }]);
    });

    test("backend.list: an error text is reported, not parsed", () => {
        expect(() => parseBackendList("Error response from daemon: No such container: matrix-router")).toThrow(/backend.list -j: not JSON: Error response/);
    });

    test("varnishstat -j: counters of the version-1 document; rates between two samples", () => {
        const a = parseVarnishstat(varnishstat(100, 40));
        expect(a["MAIN.client_req"]).toBe(100);
        const b = parseVarnishstat(varnishstat(150, 65));
        expect(rates(a, b, 0.5)).toMatchObject({ "MAIN.client_req": 100, "VBE.matrix_4f2a1c.simplewebapp1__node1.req": 50, "VBE.matrix_4f2a1c.simplewebapp1__node2.req": 0 });
        // The flat document of older versions.
        expect(parseVarnishstat('{"timestamp": "x", "MAIN.client_req": {"value": 7}}')).toEqual({ "MAIN.client_req": 7 });
    });

    test("the router sample: health and requests per second per backend", () => {
        const text = `@@backends\n${BACKEND_LIST}@@stat 1000000000000\n${varnishstat(100, 40)}\n@@stat 1002000000000\n${varnishstat(300, 140)}\n`;
        const view = parseRouterSample(text);
        expect(view.totalRps).toBe(100);
        expect(view.backendRps).toEqual({ "matrix_4f2a1c.simplewebapp1__node1": 50, "matrix_4f2a1c.simplewebapp1__node2": 0 });
        expect(view.backends.filter((b) => b.healthy).map((b) => b.node)).toEqual(["node1"]);
    });
});
