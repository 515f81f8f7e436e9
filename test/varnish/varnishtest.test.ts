// Runs the varnishtest scenarios of this directory against the VCL renderVcl() produces.
//
// Each test/varnish/<name>.vtc has a line "@ROUTER_VCL@". The scenario of the same name below
// gives the model; its replicas are varnishtest servers s1, s2, ... (node<i> = s<i>). The VCL is
// rendered, its backend addresses are replaced by ${s<i>_addr}/${s<i>_port}, and the result is
// embedded into a copy of the .vtc in a temp dir, which varnishtest runs (varnishd on loopback).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderVcl } from "../../core/render";
import { Model } from "../../core/model";
import { embedVcl, requireTool, toVarnishtestVcl, vtcModel } from "./vtc";

interface Scenario {
    model: () => Model;
    /** Further @NAME@ substitutions in the .vtc. */
    vars?: Record<string, string>;
}

const scenarios: Record<string, Scenario> = {
    routing: {
        model: () =>
            vtcModel([
                { name: "simplewebapp1", servers: [1, 2] },
                { name: "simplewebapp2", servers: [3], route: { stripPrefix: true } },
                { name: "admin", servers: [4], route: { path: "/simplewebapp1/admin/" }, health: { path: "/simplewebapp1/admin/" } },
                { name: "shop", servers: [5], route: { hostname: "shop.matrix", path: "/" }, health: { path: "/" } },
            ]),
    },
    failover: {
        model: () =>
            vtcModel(
                [
                    { name: "flaky", servers: [1, 2], route: { stripPrefix: true }, health: { path: "/health" } },
                    { name: "busy", servers: [3, 4] },
                    { name: "down", servers: [5, 6] },
                    { name: "first", servers: [7, 8], director: "fallback" },
                ],
                { retries: 2 },
            ),
    },
    health: {
        model: () =>
            vtcModel(
                [
                    { name: "app1", servers: [1, 2] },
                    { name: "probed", servers: [3], health: { path: "/healthz" } },
                    { name: "watched", servers: [4], route: { hostname: "watched.matrix" }, health: { path: "/healthz" } },
                ],
                { probe: { interval: "1s", timeout: "500ms", window: 3, threshold: 2 } },
            ),
    },
    directors: {
        model: () =>
            vtcModel([
                { name: "fb", servers: [1, 2], director: "fallback" },
                { name: "hashed", servers: [3, 4], director: "hash" },
                { name: "rand", servers: [5, 6], director: "random" },
            ]),
    },
    empty: { model: () => vtcModel([]) },
    tls: { model: () => vtcModel([{ name: "web", servers: [1] }]) },
    "tls-redirect": { model: () => vtcModel([{ name: "web", servers: [1] }], { tls: { redirectHttp: true } }) },
    cache: { model: () => vtcModel([{ name: "cached", servers: [1] }], { cache: true }) },
};

const DIR = __dirname;
const vtcFiles = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith(".vtc"))
    .sort();

describe("varnishtest scenarios", () => {
    let varnishtest: string;
    let tmp: string;
    /** Generated files stay for inspection when a scenario fails. */
    let keep = false;

    beforeAll(() => {
        varnishtest = requireTool("varnishtest", "varnish");
        requireTool("varnishd", "varnish");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-vtc-"));
    });
    afterAll(() => {
        if (tmp && !keep) fs.rmSync(tmp, { recursive: true, force: true });
    });

    test("every .vtc has a scenario and every scenario a .vtc", () => {
        expect(vtcFiles.map((f) => path.basename(f, ".vtc")).sort()).toEqual(Object.keys(scenarios).sort());
    });

    for (const file of vtcFiles) {
        const name = path.basename(file, ".vtc");
        test(`${file}`, () => {
            const scenario = scenarios[name];
            if (!scenario) throw new Error(`${file} has no scenario (model) in varnishtest.test.ts`);
            let vtc = embedVcl(fs.readFileSync(path.join(DIR, file), "utf8"), toVarnishtestVcl(renderVcl(scenario.model())));
            for (const [k, v] of Object.entries(scenario.vars ?? {})) vtc = vtc.split(`@${k}@`).join(v);
            const leftover = /@[A-Z_]+@/.exec(vtc);
            if (leftover) throw new Error(`${file}: ${leftover[0]} is not substituted`);
            const generated = path.join(tmp, file);
            fs.writeFileSync(generated, vtc);
            // -t: each scenario is bounded in time; varnishtest kills it after that.
            const r = spawnSync(varnishtest, ["-t", "30", generated], { encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
            const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
            if (r.error || r.status !== 0) {
                keep = true;
                const tail = output.split("\n").slice(-150).join("\n");
                throw new Error(`varnishtest ${file} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ""}); generated file: ${generated}\n${tail}`);
            }
            expect(output).toMatch(/passed/);
        }, 70_000);
    }
});
