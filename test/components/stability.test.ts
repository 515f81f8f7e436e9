// Stability under mocks: changing one app's image or adding an app must not rename
// or change the inputs of any other resource, except the router's VCL (and DNS records for a
// virtual host).
import { devConfig, Registered, runProgram } from "./harness";

jest.setTimeout(60000);

const snapshot = (rs: Registered[]) => new Map(rs.map((r) => [r.urn, JSON.stringify(r.inputs)]));

function diff(a: Map<string, string>, b: Map<string, string>) {
    return {
        added: [...b.keys()].filter((k) => !a.has(k)),
        removed: [...a.keys()].filter((k) => !b.has(k)),
        changed: [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k)),
    };
}
const names = (urns: string[]) => urns.map((u) => u.split("::").pop()).sort();

describe("stable resource names and inputs", () => {
    let A: Map<string, string>;
    beforeAll(async () => {
        A = snapshot((await runProgram(devConfig())).resources);
    });

    test("the same config twice gives the same graph", async () => {
        expect(diff(A, snapshot((await runProgram(devConfig())).resources))).toEqual({ added: [], removed: [], changed: [] });
    });

    test("B: one app's image changed -> only that app's image/containers and nothing else", async () => {
        const cfg = devConfig();
        cfg.applications[1] = { ...cfg.applications[1], build: undefined, image: "registry.example/simplewebapp2:2.0" };
        const d = diff(A, snapshot((await runProgram(cfg)).resources));
        // The build and the node prunes disappear (an image from elsewhere is neither built nor
        // pruned) and the pulls/containers change; the registry no longer collects its tags.
        expect(names(d.removed)).toEqual(["simplewebapp2-image", ...names(d.removed).filter((n) => /^simplewebapp2@node\d-prune$/.test(n!))]);
        expect(names(d.removed)).toHaveLength(3);
        expect(d.added).toEqual([]);
        expect(names(d.changed).filter((n) => !n!.startsWith("simplewebapp2@"))).toEqual(["monitoring-monitor-config", "registry-gc"]);
        expect(names(d.changed).length).toBeGreaterThan(0);
    });

    test("B': one app added -> only its resources are new; only the router config changes", async () => {
        const cfg = devConfig();
        cfg.applications.push({ name: "simplewebapp3", image: "registry.example/web:1", port: 8080, replicas: 1 });
        const d = diff(A, snapshot((await runProgram(cfg)).resources));
        expect(d.removed).toEqual([]);
        expect(names(d.added).every((n) => n!.startsWith("simplewebapp3"))).toBe(true);
        expect(names(d.added)).toContain("simplewebapp3");
        expect(names(d.changed)).toEqual(["monitoring-monitor-config", "router-vcl", "router-vcl-load"]);
    });

    test("a container whose host port changes gets a new name (its version), so it can start beside the old one", async () => {
        const run = async (edit: (c: Record<string, any>) => void) => {
            const cfg = devConfig();
            edit(cfg);
            return (await runProgram(cfg)).byName("docker:index/container:Container", "simplewebapp1@node1").inputs;
        };
        const base = await run(() => undefined);
        for (const edit of [(c: Record<string, any>) => (c.hostPorts = { start: 21000, end: 21999 }), (c: Record<string, any>) => (c.applications[0].hostPort = 8081)]) {
            const changed = await run(edit);
            expect(changed.ports).not.toEqual(base.ports);
            expect(changed.name).not.toBe(base.name);
        }
    });

    test("B3: one built app's build args changed -> its resources and the registry's retention list", async () => {
        const cfg = devConfig();
        cfg.applications[0].build = { context: cfg.applications[0].build, args: { VERSION: "v2" } };
        const d = diff(A, snapshot((await runProgram(cfg)).resources));
        expect(d.added).toEqual([]);
        expect(d.removed).toEqual([]);
        expect(names(d.changed).filter((n) => !n!.startsWith("simplewebapp1"))).toEqual(["monitoring-monitor-config", "registry-gc"]);
        expect(names(d.changed)).toEqual(expect.arrayContaining(["simplewebapp1-image", "simplewebapp1@node1", "simplewebapp1@node1-port", "simplewebapp1@node1-prune"]));
    });

    test("B'': an app added with a virtual host -> the DNS records change and are reloaded too, and the router's certificate is issued for it", async () => {
        const cfg = devConfig();
        cfg.applications.push({ name: "simplewebapp3", image: "registry.example/web:1", port: 8080, replicas: 1, route: { hostname: true } });
        const d = diff(A, snapshot((await runProgram(cfg)).resources));
        expect(d.removed).toEqual([]);
        expect(names(d.added).every((n) => n!.startsWith("simplewebapp3"))).toBe(true);
        // (Under mocks the new certificate reads as the old one; really, its PEM file is rewritten
        // and hitch reloads it with a SIGHUP: router-tls-pem, router-tls-reload.)
        expect(names(d.changed)).toEqual(["certificates-router", "manager-dns-records", "manager-dns-reload", "monitoring-monitor-config", "router-vcl", "router-vcl-load"]);
    });
});
