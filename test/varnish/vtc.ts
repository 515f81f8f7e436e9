// Helpers for the Varnish tests: locate the real tools, build models whose replicas are
// varnishtest servers, and turn a rendered VCL into one varnishtest can load.
import * as fs from "fs";
import * as path from "path";
import { Application, DirectorKind, Model, Route, Router } from "../../core/model";
import { Overrides, SAMPLE_HEALTH, sampleApp, sampleHost, sampleModel } from "../core/fixtures";

const EXTRA_PATH = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/** Absolute path of a tool, or a clear failure: these tests never skip silently. */
export function requireTool(name: string, apt: string): string {
    const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...EXTRA_PATH].filter(Boolean);
    for (const dir of dirs) {
        const p = path.join(dir, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            /* next */
        }
    }
    throw new Error(`${name} is not installed (looked in ${dirs.join(":")}); install it with: apt-get install -y ${apt}`);
}

/** Replica i of a varnishtest model listens on 127.0.0.1:(PORT_BASE + i) until the macros replace it. */
const PORT_BASE = 40000;

export interface VtcApp {
    name: string;
    /** varnishtest server numbers: s1 -> 1. Each server is node<i>. */
    servers: number[];
    route?: Partial<Route>;
    health?: Partial<Application["health"]>;
    director?: DirectorKind;
}

/**
 * A model whose replica of server i is node<i> (address 127.0.0.1, host port PORT_BASE + i).
 * Probes run once an hour unless the router overrides say otherwise: scripted servers then see
 * exactly one probe, right after the VCL is loaded.
 */
export function vtcModel(apps: VtcApp[], router: Overrides<Router> = {}): Model {
    const servers = [...new Set(apps.flatMap((a) => a.servers))].sort((a, b) => a - b);
    return sampleModel({
        nodes: servers.map((i) => sampleHost(`node${i}`, "127.0.0.1")),
        router: { ...router, probe: { interval: "1h", ...(router.probe ?? {}) } },
        applications: apps.map((a) =>
            sampleApp(
                a.name,
                a.servers.map((i) => ({ node: `node${i}`, address: "127.0.0.1", hostPort: PORT_BASE + i, fixedPort: true })),
                {
                    route: { path: `/${a.name}/`, stripPrefix: false, ...a.route },
                    health: { ...SAMPLE_HEALTH, path: a.health?.path ?? (a.route?.stripPrefix ? "/" : `/${a.name}/`), expectStatus: a.health?.expectStatus ?? 200 },
                    director: a.director ?? "round_robin",
                },
            ),
        ),
    });
}

/** Replace each backend's address by the varnishtest macros of its server (s<i>). */
export function toVarnishtestVcl(vcl: string): string {
    const out = vcl.replace(/\.host = "([^"]*)";(\s*)\.port = "(\d+)";/g, (all, host: string, ws: string, port: string) => {
        const i = Number(port) - PORT_BASE;
        if (host !== "127.0.0.1" || i < 1 || i > 99) throw new Error(`backend ${all} is not a varnishtest replica`);
        return `.host = "\${s${i}_addr}";${ws}.port = "\${s${i}_port}";`;
    });
    // Never let a test VCL point anywhere but at the varnishtest servers.
    for (const line of out.split("\n")) if (/^\s*\.(host|port) = /.test(line) && !line.includes("${s")) throw new Error(`unmapped backend line in test VCL: ${line}`);
    return out;
}

export const VCL_PLACEHOLDER = "@ROUTER_VCL@";

/** The .vtc text with the VCL placed at its `@ROUTER_VCL@` line. */
export function embedVcl(vtc: string, vcl: string): string {
    const lines = vtc.split("\n");
    const at = lines.findIndex((l) => l.trim() === VCL_PLACEHOLDER);
    if (at < 0 || lines.filter((l) => l.trim() === VCL_PLACEHOLDER).length !== 1) throw new Error(`a scenario needs exactly one line "${VCL_PLACEHOLDER}"`);
    // varnishtest reads the VCL as a {...} block: it must not unbalance the braces.
    let depth = 0;
    for (const c of vcl) {
        if (c === "{") depth++;
        if (c === "}" && --depth < 0) break;
    }
    if (depth !== 0) throw new Error("rendered VCL has unbalanced braces; varnishtest cannot embed it");
    lines.splice(at, 1, vcl.trimEnd());
    return lines.join("\n");
}
