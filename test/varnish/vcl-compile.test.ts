// Every variant of the rendered VCL must compile with the real varnishd (-C: compile only).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Application, DirectorKind, Model } from "../../core/model";
import { renderVcl } from "../../core/render";
import { SAMPLE_HEALTH, sampleApp, sampleHost, sampleModel } from "../core/fixtures";
import { requireTool } from "./vtc";

function withApps(model: Model, f: (a: Application) => Partial<Application>): Model {
    return { ...model, applications: model.applications.map((a) => ({ ...a, ...f(a) })) };
}

const base = sampleModel();
const variants: Record<string, Model> = {
    "sample (round robin, 2 apps x 2 replicas)": base,
    ...Object.fromEntries((["random", "fallback", "hash"] as DirectorKind[]).map((d) => [`director ${d}`, withApps(base, () => ({ director: d }))])),
    "mixed directors": withApps(base, (a) => ({ director: a.name === "simplewebapp1" ? "hash" : "fallback" })),
    stripPrefix: withApps(base, (a) => ({ route: { ...a.route, stripPrefix: true }, health: { ...SAMPLE_HEALTH, path: "/" } })),
    "virtual hosts (path / and a sub-path)": withApps(base, (a) => ({ route: { path: a.name === "simplewebapp1" ? "/" : "/v2/", hostname: `${a.name}.matrix`, stripPrefix: a.name !== "simplewebapp1" } })),
    "no applications": sampleModel({ applications: [] }),
    "cache on": sampleModel({ router: { cache: true } }),
    "retries 0": sampleModel({ router: { retries: 0 } }),
    "probe and timeouts in other units": sampleModel({
        router: { probe: { interval: "2m", timeout: "1.5s", window: 8, threshold: 5 }, connectTimeout: "100ms", firstByteTimeout: "1m", betweenBytesTimeout: "90s" },
    }),
    "TLS off": sampleModel({ router: { tls: { enabled: false } } }),
    "TLS with redirectHttp (port 443)": sampleModel({ router: { tls: { redirectHttp: true } } }),
    "TLS with redirectHttp, lab (published on 8443)": sampleModel({ mode: "lab", lab: { sshPortBase: 2221, routerPort: 8080, registryPort: 5000, routerTlsPort: 8443, monitorPort: 9090, jumpPort: 2200 }, router: { tls: { redirectHttp: true } } }),
    "an application without replicas": sampleModel({ applications: [...base.applications, sampleApp("idle", [])] }),
    "hyphenated names, nested prefixes, expected status 204": sampleModel({
        nodes: [sampleHost("node-a", "10.10.10.21"), sampleHost("node-b", "10.10.10.22")],
        applications: [
            sampleApp("web-shop", [{ node: "node-a", address: "10.10.10.21", hostPort: 20001, fixedPort: false }, { node: "node-b", address: "10.10.10.22", hostPort: 20001, fixedPort: false }], { health: { ...SAMPLE_HEALTH, path: "/web-shop/healthz", expectStatus: 204 } }),
            sampleApp("web-shop-admin", [{ node: "node-b", address: "10.10.10.22", hostPort: 20002, fixedPort: false }], { route: { path: "/web-shop/admin.v1/", stripPrefix: true }, health: { ...SAMPLE_HEALTH, path: "/" } }),
        ],
    }),
};

describe("rendered VCL compiles with varnishd -C", () => {
    let varnishd: string;
    let tmp: string;
    beforeAll(() => {
        varnishd = requireTool("varnishd", "varnish");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-vclc-"));
        // Run as root, varnishd reads the VCL as its unprivileged user (vcache).
        fs.chmodSync(tmp, 0o755);
    });
    afterAll(() => {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    let n = 0;
    function compile(vcl: string): { ok: boolean; output: string } {
        const id = `v${++n}`;
        const file = path.join(tmp, `${id}.vcl`);
        fs.writeFileSync(file, vcl, { mode: 0o644 });
        // -n: a private work dir, so parallel runs and the system's varnishd never collide.
        const r = spawnSync(varnishd, ["-C", "-n", path.join(tmp, `${id}.d`), "-f", file], { encoding: "utf8", timeout: 60_000 });
        if (r.error) throw new Error(`could not run ${varnishd}: ${r.error.message}`);
        // On success -C prints the generated C; on failure, VCC's messages.
        return { ok: r.status === 0, output: (r.stderr ?? "").split("\n").slice(-40).join("\n") };
    }

    test("the check itself rejects a broken VCL", () => {
        const r = compile(renderVcl(base).replace("return (pass);", "return (nonsense);"));
        expect(r.ok).toBe(false);
        expect(r.output).toMatch(/Message from VCC-compiler/);
    }, 60_000);

    for (const [name, model] of Object.entries(variants)) {
        test(name, () => {
            const vcl = renderVcl(model);
            const r = compile(vcl);
            if (!r.ok) throw new Error(`varnishd -C rejected the VCL for "${name}":\n${r.output}\n--- VCL ---\n${vcl}`);
        }, 60_000);
    }
});
