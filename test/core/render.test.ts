// Semantics of the rendered service configuration: the VCL is parsed back into backends,
// probes, directors and routes; dnsmasq.conf into lines (and checked, then run on loopback,
// by the real dnsmasq); hosts records, daemon.json and config.yml are parsed.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as dgram from "dgram";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { paths } from "../../core/layout";
import { Model } from "../../core/model";
import {
    regexEscape,
    renderDaemonJson,
    renderDhcpHosts,
    renderFirewall,
    renderFiles,
    renderHitchConf,
    renderDnsHosts,
    renderDnsmasqConf,
    renderRegistryConfig,
    renderVcl,
    vclBackendName,
    vclDirectorName,
    vclProbeName,
} from "../../core/render";
import { requireTool } from "../varnish/vtc";
import { replica, sampleApp, sampleHost, sampleModel } from "./fixtures";

// ------------------------------------------------------------------------------------------------
// A small reader of the VCL renderVcl() writes.

interface ParsedVcl {
    backends: Map<string, Record<string, string>>;
    probes: Map<string, { request: string[]; fields: Record<string, string> }>;
    directors: Map<string, { kind: string; args: string; members: string[] }>;
    routes: { app: string; host: RegExp | null; path: RegExp; backendExpr: string }[];
    redirects: { host: RegExp | null; bare: RegExp; to: string }[];
    recv: string;
    backendFetch: string;
    backendResponse: string;
    backendError: string;
}

function sub(vcl: string, name: string): string {
    const m = new RegExp(`\\nsub ${name} \\{\\n([\\s\\S]*?)\\n\\}\\n`).exec(vcl);
    if (!m) throw new Error(`no sub ${name}`);
    return m[1];
}

/** PCRE "(?i)^..." -> JS RegExp. */
function pcre(re: string): RegExp {
    return re.startsWith("(?i)") ? new RegExp(re.slice(4), "i") : new RegExp(re);
}

function fields(body: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of body.matchAll(/^\s*\.(\w+) = ([^;]*);/gm)) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
    return out;
}

function parseVcl(vcl: string): ParsedVcl {
    const backends = new Map<string, Record<string, string>>();
    for (const m of vcl.matchAll(/^backend (\S+) \{\n([\s\S]*?)\n\}/gm)) backends.set(m[1], fields(m[2]));
    const probes = new Map<string, { request: string[]; fields: Record<string, string> }>();
    for (const m of vcl.matchAll(/^probe (\S+) \{\n([\s\S]*?)\n\}/gm)) {
        const req = /\.request =\s*((?:\s*"[^"]*")+);/.exec(m[2]);
        probes.set(m[1], { request: req ? [...req[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]) : [], fields: fields(m[2].replace(/\.request =[^;]*;/, "")) });
    }
    const init = sub(vcl, "vcl_init");
    const directors = new Map<string, { kind: string; args: string; members: string[] }>();
    for (const m of init.matchAll(/new (\S+) = directors\.(\w+)\(([^)]*)\);/g)) directors.set(m[1], { kind: m[2], args: m[3], members: [] });
    for (const m of init.matchAll(/(\S+)\.add_backend\(([^)]*)\);/g)) directors.get(m[1])!.members.push(m[2]);

    const recv = sub(vcl, "vcl_recv");
    const routes: ParsedVcl["routes"] = [];
    const redirects: ParsedVcl["redirects"] = [];
    let host: RegExp | null = null;
    let pathRe: RegExp | null = null;
    let bare: RegExp | null = null;
    for (const line of recv.split("\n")) {
        let m: RegExpExecArray | null;
        if ((m = /^ {4}if \(!req\.http\.X-Matrix-App && req\.http\.host ~ "([^"]*)"\) \{$/.exec(line))) host = pcre(m[1]);
        else if ((m = /^ {4}if \(!req\.http\.X-Matrix-App && req\.url ~ "([^"]*)"\) \{$/.exec(line))) {
            host = null;
            pathRe = bare = pcre(m[1]);
        } else if ((m = /^ {8}(?:\} else )?if \(req\.url ~ "([^"]*)"\) \{$/.exec(line))) pathRe = bare = pcre(m[1]);
        else if ((m = /set req\.http\.X-Matrix-App = "([^"]*)";/.exec(line))) routes.push({ app: m[1], host, path: pathRe!, backendExpr: "" });
        else if ((m = /set req\.backend_hint = (.*);$/.exec(line))) routes[routes.length - 1].backendExpr = m[1];
        else if ((m = /set req\.http\.X-Matrix-Location = regsub\(req\.url, "([^"]*)", "([^"]*)"\);/.exec(line))) redirects.push({ host, bare: bare!, to: m[2] });
        else if (/^ {4}\}$/.test(line)) host = null;
    }
    return {
        backends,
        probes,
        directors,
        routes,
        redirects,
        recv,
        backendFetch: sub(vcl, "vcl_backend_fetch"),
        backendResponse: sub(vcl, "vcl_backend_response"),
        backendError: sub(vcl, "vcl_backend_error"),
    };
}

/** Where vcl_recv sends a request: the first matching route, in VCL order. */
function route(p: ParsedVcl, host: string, url: string): string | undefined {
    return p.routes.find((r) => (!r.host || r.host.test(host)) && r.path.test(url))?.app;
}

// ------------------------------------------------------------------------------------------------

test("renderFiles: every file the cloud writes, each as its own renderer makes it", () => {
    const m = sampleModel();
    expect(renderFiles(m)).toEqual({
        daemonJson: renderDaemonJson(m),
        registryConfig: renderRegistryConfig(m),
        dnsmasqConf: renderDnsmasqConf(m),
        dnsHosts: renderDnsHosts(m),
        dhcpHosts: renderDhcpHosts(m),
        firewall: renderFirewall(m),
        hitchConf: renderHitchConf(m),
    });
    expect(renderFiles(sampleModel({ router: { tls: { enabled: false } } })).hitchConf).toBeUndefined();
});

describe("renderFirewall", () => {
    const script = renderFirewall(sampleModel({ router: { port: 8081 } }));
    /** The `ipt -A <chain> ...` rules of one chain, in order, without the command. */
    const rules = (chain: string) => [...script.matchAll(new RegExp(`^ipt -A ${chain} (.*)$`, "gm"))].map((m) => m[1]);

    test("valid sh", () => {
        const r = spawnSync("sh", ["-n"], { input: script });
        expect(r.stderr.toString()).toBe("");
        expect(r.status).toBe(0);
    });

    test("from containers: replies pass, then the manager's DNS and router (HTTP and HTTPS), then nothing else of the private network", () => {
        expect(rules("MATRIX-APPS")).toEqual([
            "-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
            "-d 10.10.10.1 -p udp --dport 53 -j RETURN",
            "-d 10.10.10.1 -p tcp --dport 53 -j RETURN",
            "-d 10.10.10.1 -p tcp --dport 8081 -j RETURN",
            "-d 10.10.10.1 -p tcp --dport 443 -j RETURN",
            "-m conntrack --ctorigdst 10.10.10.0/24 -p tcp -j REJECT --reject-with tcp-reset",
            "-m conntrack --ctorigdst 10.10.10.0/24 -j REJECT",
        ]);
    });

    test("to the node itself: replies only", () => {
        expect(rules("MATRIX-APPS-HOST")).toEqual(["-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN", "-p tcp -j REJECT --reject-with tcp-reset", "-j REJECT"]);
    });

    test("hooked on the default bridge only, idempotently (checked before inserted), and removable", () => {
        expect(script).toContain("ipt -C DOCKER-USER -i docker0 -j MATRIX-APPS 2>/dev/null || ipt -I DOCKER-USER -i docker0 -j MATRIX-APPS");
        expect(script).toContain("ipt -C INPUT -i docker0 -j MATRIX-APPS-HOST 2>/dev/null || ipt -I INPUT -i docker0 -j MATRIX-APPS-HOST");
        expect(script).toContain("ipt -D DOCKER-USER -i docker0 -j MATRIX-APPS");
        expect(script).toContain("ipt -D INPUT -i docker0 -j MATRIX-APPS-HOST");
    });
});

describe("renderVcl", () => {
    const model = sampleModel();
    const vcl = renderVcl(model);
    const p = parseVcl(vcl);

    test("VCL 4.1 with the directors and std vmods, no template leftovers, deterministic", () => {
        expect(vcl.startsWith("vcl 4.1;\n")).toBe(true);
        expect(vcl).toMatch(/^import directors;$/m);
        expect(vcl).toMatch(/^import std;$/m);
        expect(vcl).toMatch(/^backend default none;$/m);
        expect(vcl).not.toMatch(/\{\{|\}\}|undefined|\[object/);
        const shuffled: Model = { ...model, applications: [...model.applications].reverse(), nodes: [...model.nodes].reverse() };
        expect(renderVcl(shuffled)).toBe(vcl);
    });

    test("one backend per replica: node address, host port, probe and the router's timeouts", () => {
        const summary = Object.fromEntries([...p.backends].map(([name, f]) => [name, `${f.host}:${f.port}`]));
        expect(summary).toEqual({
            simplewebapp1__node1: "10.10.10.11:20001",
            simplewebapp1__node2: "10.10.10.12:20001",
            simplewebapp2__node2: "10.10.10.12:20002",
            simplewebapp2__node3: "10.10.10.13:20002",
        });
        for (const [name, f] of p.backends) {
            expect(f.probe).toBe(`probe_${name.split("__")[0]}`);
            expect(f.connect_timeout).toBe("500ms");
            expect(f.first_byte_timeout).toBe("30s");
            expect(f.between_bytes_timeout).toBe("10s");
        }
    });

    test("a probe per app: health path, Host header, Connection: close, router.probe settings, initial = threshold", () => {
        const m = sampleModel({
            router: { probe: { interval: "5s", timeout: "2s", window: 5, threshold: 3 } },
            applications: [
                sampleApp("simplewebapp1", [replica("node1", 20001)], { health: { path: "/simplewebapp1/health", expectStatus: 204 } }),
                sampleApp("shop", [replica("node2", 20002)], { route: { hostname: "shop.matrix", path: "/" } }),
            ],
        });
        const probes = parseVcl(renderVcl(m)).probes;
        expect([...probes.keys()].sort()).toEqual(["probe_shop", "probe_simplewebapp1"]);
        const pr = probes.get("probe_simplewebapp1")!;
        expect(pr.request).toEqual(["GET /simplewebapp1/health HTTP/1.1", "Host: manager.matrix", "User-Agent: matrix-probe", "Connection: close"]);
        expect(pr.fields).toEqual({ expected_response: "204", interval: "5s", timeout: "2s", window: "5", threshold: "3", initial: "3" });
        // An app with a virtual host is probed under its own name.
        expect(probes.get("probe_shop")!.request[1]).toBe("Host: shop.matrix");
    });

    test("initial never exceeds the window", () => {
        const m = sampleModel({ router: { probe: { window: 2, threshold: 3 } } });
        expect(parseVcl(renderVcl(m)).probes.get("probe_simplewebapp1")!.fields.initial).toBe("2");
    });

    test("a round-robin director per app, members in replica order, created in vcl_init", () => {
        expect(Object.fromEntries(p.directors)).toEqual({
            dir_simplewebapp1: { kind: "round_robin", args: "", members: ["simplewebapp1__node1", "simplewebapp1__node2"] },
            dir_simplewebapp2: { kind: "round_robin", args: "", members: ["simplewebapp2__node2", "simplewebapp2__node3"] },
        });
        expect(p.routes.map((r) => r.backendExpr)).toEqual(["dir_simplewebapp1.backend()", "dir_simplewebapp2.backend()"]);
    });

    test.each([
        ["random", "", ["simplewebapp1__node1, 1.0", "simplewebapp1__node2, 1.0"], "dir_simplewebapp1.backend()"],
        ["fallback", "sticky = false", ["simplewebapp1__node1", "simplewebapp1__node2"], "dir_simplewebapp1.backend()"],
        ["hash", "", ["simplewebapp1__node1, 1.0", "simplewebapp1__node2, 1.0"], "dir_simplewebapp1.backend(req.url)"],
    ] as const)("director %s: constructor, add_backend arguments and how recv picks", (kind, args, members, expr) => {
        const m = sampleModel();
        m.applications = m.applications.map((a) => ({ ...a, director: kind }));
        const q = parseVcl(renderVcl(m));
        expect(q.directors.get("dir_simplewebapp1")).toEqual({ kind, args, members });
        expect(q.routes.find((r) => r.app === "simplewebapp1")!.backendExpr).toBe(expr);
        // Whatever the director, a retry goes to the first healthy replica this request has not tried.
        expect(q.backendFetch).toContain('if (bereq.retries > 0 && bereq.http.X-Matrix-App == "simplewebapp1") {');
        expect(q.backendFetch).toContain('if (bereq.http.X-Matrix-Tried !~ "(^| )simplewebapp1__node1( |$)" && std.healthy(simplewebapp1__node1)) {');
        expect(q.backendFetch).toContain('else if (bereq.http.X-Matrix-Tried !~ "(^| )simplewebapp1__node2( |$)" && std.healthy(simplewebapp1__node2)) {');
    });

    test("routes: virtual hosts first, then path prefixes longest first; bare prefixes redirect", () => {
        const m = sampleModel({
            applications: [
                sampleApp("simplewebapp1", [replica("node1", 20001)]),
                sampleApp("simplewebapp2", [replica("node2", 20002)]),
                sampleApp("admin", [replica("node3", 20003)], { route: { path: "/simplewebapp1/admin/" } }),
                sampleApp("home", [replica("node3", 20004)], { route: { path: "/" } }),
                sampleApp("shop", [replica("node1", 20005)], { route: { hostname: "shop.matrix", path: "/" } }),
                sampleApp("shop-api", [replica("node2", 20006)], { route: { hostname: "Shop.Matrix", path: "/api/", stripPrefix: true } }),
            ],
        });
        const q = parseVcl(renderVcl(m));
        expect(q.routes.map((r) => r.app)).toEqual(["shop-api", "shop", "admin", "simplewebapp1", "simplewebapp2", "home"]);
        expect(q.routes.slice(0, 2).every((r) => r.host)).toBe(true);
        expect(q.routes.slice(2).every((r) => !r.host)).toBe(true);

        expect(route(q, "localhost:8080", "/simplewebapp1/x")).toBe("simplewebapp1");
        expect(route(q, "localhost:8080", "/simplewebapp1/admin/x")).toBe("admin");
        expect(route(q, "localhost:8080", "/simplewebapp2/")).toBe("simplewebapp2");
        expect(route(q, "localhost:8080", "/other")).toBe("home");
        expect(route(q, "SHOP.matrix:8080", "/simplewebapp1/x")).toBe("shop");
        expect(route(q, "shop.matrix.", "/api/v1")).toBe("shop-api");
        expect(route(q, "shop.matrix", "/api")).toBe("shop"); // no trailing slash: not below /api/
        expect(route(q, "www.shop.matrix", "/simplewebapp1/x")).toBe("simplewebapp1");
        expect(route(q, "shop.matrixx", "/x")).toBe("home");

        const redirect = (host: string, url: string) => q.redirects.find((r) => (!r.host || r.host.test(host)) && r.bare.test(url));
        expect(redirect("x", "/simplewebapp1?a=1")?.to).toBe("/simplewebapp1/");
        expect(redirect("x", "/simplewebapp1/admin")?.to).toBe("/simplewebapp1/admin/");
        expect(redirect("x", "/simplewebapp1x")).toBeUndefined();
        expect(redirect("shop.matrix", "/api")?.to).toBe("/api/");
    });

    test("no route -> 404, unhealthy -> 503 naming the app, X-Matrix-App set, pass unless router.cache", () => {
        expect(p.recv).toContain('return (synth(404, "no application is routed at " + req.url));');
        expect(p.recv).toContain("if (!std.healthy(req.backend_hint)) {");
        expect(p.recv).toContain('return (synth(503, "no healthy backend for " + req.http.X-Matrix-App));');
        expect(p.recv).toContain('set req.http.X-Matrix-App = "simplewebapp1";');
        expect(p.recv).toMatch(/unset req\.http\.X-Matrix-App;[\s\S]*set req\.http\.X-Matrix-App/);
        // The health check comes after routing, the pass after the health check.
        expect(p.recv.indexOf("std.healthy")).toBeGreaterThan(p.recv.lastIndexOf("X-Matrix-App = "));
        expect(p.recv.trimEnd().endsWith("return (pass);")).toBe(true);
        expect(parseVcl(renderVcl(sampleModel({ router: { cache: true } }))).recv).not.toContain("return (pass);");
    });

    test("retries: idempotent methods only, router.retries times, on 502-504 and fetch errors", () => {
        const q = parseVcl(renderVcl(sampleModel({ router: { retries: 3 } })));
        for (const body of [q.backendResponse, q.backendError]) {
            expect(body).toContain('bereq.method ~ "^(GET|HEAD|OPTIONS)$" && bereq.retries < 3');
            expect(body).toContain("return (retry);");
        }
        expect(q.backendResponse).toContain("beresp.status >= 502 && beresp.status <= 504");
        expect(q.backendResponse).toContain("set beresp.http.X-Matrix-Backend = beresp.backend.name;");
        expect(q.backendError).toContain("set beresp.status = 503;");
        expect(q.backendError).toContain("no replica answered after");
        // The method regex the VCL really uses: idempotent methods only.
        const re = new RegExp(/bereq\.method ~ "([^"]+)"/.exec(q.backendError)![1]);
        expect(["GET", "HEAD", "OPTIONS"].every((x) => re.test(x))).toBe(true);
        expect(["POST", "PUT", "PATCH", "DELETE", "GETX"].some((x) => re.test(x))).toBe(false);
    });

    test("stripPrefix: strips once in vcl_backend_fetch, keeping the leading '/'", () => {
        const m = sampleModel();
        m.applications[1] = { ...m.applications[1], route: { ...m.applications[1].route, stripPrefix: true } };
        const q = parseVcl(renderVcl(m));
        const strip = /if \(bereq\.http\.X-Matrix-App == "([^"]*)" && !bereq\.http\.X-Forwarded-Prefix\) \{\n.*\n\s*set bereq\.url = regsub\(bereq\.url, "([^"]*)", "\/"\);\n\s*set bereq\.http\.X-Forwarded-Prefix = "([^"]*)";/.exec(q.backendFetch);
        expect(strip?.slice(1)).toEqual(["simplewebapp2", "^/simplewebapp2/", "/simplewebapp2"]);
        expect("/simplewebapp2/a/b?c=1".replace(new RegExp(strip![2]), "/")).toBe("/a/b?c=1");
        expect("/simplewebapp2/".replace(new RegExp(strip![2]), "/")).toBe("/");
        expect(q.backendFetch).not.toContain('"simplewebapp1" && !bereq.http.X-Forwarded-Prefix');
        // Clients cannot forge the marker.
        expect(q.recv).toContain("unset req.http.X-Forwarded-Prefix;");
    });

    test("no applications: still a complete VCL that answers 404", () => {
        const q = parseVcl(renderVcl(sampleModel({ applications: [] })));
        expect(q.backends.size).toBe(0);
        expect(q.directors.size).toBe(0);
        expect(q.routes).toEqual([]);
        expect(q.recv).toContain("synth(404");
    });

    test("an app without replicas gets an empty director (503), no probe, no backend", () => {
        const q = parseVcl(renderVcl(sampleModel({ applications: [sampleApp("idle", [])] })));
        expect(q.directors.get("dir_idle")).toEqual({ kind: "round_robin", args: "", members: [] });
        expect(q.probes.size).toBe(0);
        expect(q.backends.size).toBe(0);
    });

    test("identifiers: valid VCL names, injective, distinct kinds never collide", () => {
        const vclIdent = /^[A-Za-z][A-Za-z0-9_-]*$/;
        const pairs: [string, string][] = [
            ["a", "b-c"],
            ["a-b", "c"],
            ["a", "b--c"],
            ["a--b", "c"],
            ["a-b", "c-d"],
            ["a", "probe"],
            ["probe", "a"],
        ];
        const names = pairs.map(([a, n]) => vclBackendName(a, n));
        expect(new Set(names).size).toBe(names.length);
        for (const n of names) expect(n).toMatch(vclIdent);
        const others = ["a", "a-b", "probe"].flatMap((a) => [vclProbeName(a), vclDirectorName(a)]);
        expect(names.some((n) => others.includes(n))).toBe(false);
        expect(new Set(others).size).toBe(others.length);
        expect(() => vclBackendName("A", "node1")).toThrow(/must be a name of lowercase letters/);
        expect(() => vclBackendName("app", "node_1")).toThrow(/must be a name of lowercase letters/);
        expect(() => vclBackendName("app-", "node1")).toThrow(/must not end with "-"/);
    });

    test("refuses what VCL cannot carry", () => {
        const bad = (f: (m: Model) => void) => {
            const m = sampleModel();
            f(m);
            return () => renderVcl(m);
        };
        expect(bad((m) => (m.applications[0].health.path = '/x"y'))).toThrow(/VCL string/);
        expect(bad((m) => (m.applications[0].route.path = "/x"))).toThrow(/start and end with/);
        expect(bad((m) => (m.applications[0].timeouts.connect = "5 seconds"))).toThrow(/connect timeout of simplewebapp1 "5 seconds" is not a VCL duration/);
        expect(bad((m) => (m.applications[0].replicas[0].address = 'x"y'))).toThrow(/address of node1/);
    });

    test("regexEscape makes literals literal", () => {
        const lit = "/a.b+c(1)[x]{2}|$^?*\\/";
        expect(new RegExp(`^${regexEscape(lit)}$`).test(lit)).toBe(true);
        expect(new RegExp(`^${regexEscape("/a.b/")}`).test("/aXb/")).toBe(false);
    });
});

// ------------------------------------------------------------------------------------------------

function confLines(conf: string): string[] {
    return conf.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
}

describe("renderDnsmasqConf", () => {
    test("DNS for the domain from the hosts file, listening on the manager, upstream servers, DHCP", () => {
        const conf = renderDnsmasqConf(sampleModel());
        expect(confLines(conf)).toEqual([
            "domain-needed",
            "bogus-priv",
            "no-hosts",
            `addn-hosts=${paths.container.dnsHosts}`,
            "domain=matrix,10.10.10.0/24",
            "local=/matrix/",
            "expand-hosts",
            "listen-address=10.10.10.1",
            "bind-interfaces",
            "no-resolv",
            "server=10.0.2.3",
            "dhcp-range=10.10.10.100,10.10.10.200,255.255.255.0,12h",
            "dhcp-option=option:router",
            "dhcp-option=option:dns-server,10.10.10.1",
            "dhcp-option=option:domain-search,matrix",
            `dhcp-hostsfile=${paths.container.dhcpHosts}`,
            `dhcp-leasefile=${paths.container.dnsLeases}`,
            "dhcp-authoritative",
            "log-dhcp",
        ]);
        expect(conf).not.toMatch(/log-queries/);
    });

    test("DHCP fixed leases: one line per node, by name; none without DHCP", () => {
        expect(renderDhcpHosts(sampleModel())).toBe("node1,10.10.10.11\nnode2,10.10.10.12\nnode3,10.10.10.13\n");
        expect(renderDhcpHosts(sampleModel({ network: { dhcp: undefined } }))).toBe("");
    });

    test("no upstream servers: no no-resolv (dnsmasq uses resolv.conf); no DHCP: no dhcp lines", () => {
        const lines = confLines(renderDnsmasqConf(sampleModel({ network: { upstreamDns: [], dhcp: undefined } })));
        expect(lines.filter((l) => /^(no-resolv|server=|dhcp|log-dhcp)/.test(l))).toEqual([]);
        expect(lines).toContain("listen-address=10.10.10.1");
    });

    test("several upstream servers in order", () => {
        const lines = confLines(renderDnsmasqConf(sampleModel({ network: { upstreamDns: ["1.1.1.1", "9.9.9.9"] } })));
        expect(lines.filter((l) => l.startsWith("server="))).toEqual(["server=1.1.1.1", "server=9.9.9.9"]);
    });
});

describe("renderDnsHosts", () => {
    test("manager (with registry and virtual hosts of the domain), then nodes, one line per address", () => {
        const m = sampleModel();
        m.applications.push(sampleApp("shop", [replica("node1", 20005)], { route: { hostname: "shop.matrix", path: "/" } }));
        m.applications.push(sampleApp("ext", [replica("node1", 20006)], { route: { hostname: "ext.example.com", path: "/" } }));
        const text = renderDnsHosts(m);
        const records = text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/));
        expect(records).toEqual([
            ["10.10.10.1", "manager.matrix", "manager", "registry.matrix", "shop.matrix"],
            ["10.10.10.11", "node1.matrix", "node1"],
            ["10.10.10.12", "node2.matrix", "node2"],
            ["10.10.10.13", "node3.matrix", "node3"],
        ]);
        expect(text.endsWith("\n")).toBe(true);
    });

    test("sorted by address numerically, independent of input order", () => {
        const m = sampleModel({ nodes: [sampleHost("b", "10.10.10.100"), sampleHost("a", "10.10.10.9"), sampleHost("c", "10.10.10.20")], applications: [] });
        const addrs = (t: string) => t.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t")[0]);
        expect(addrs(renderDnsHosts(m))).toEqual(["10.10.10.1", "10.10.10.9", "10.10.10.20", "10.10.10.100"]);
        expect(renderDnsHosts({ ...m, nodes: [...m.nodes].reverse() })).toBe(renderDnsHosts(m));
    });
});

describe("renderDaemonJson", () => {
    test("valid JSON with a trailing newline: no insecure registry (HTTPS, CA in certs.d), containers resolve through the manager, no inter-container traffic, live-restore, rotated json-file logs", () => {
        const text = renderDaemonJson(sampleModel());
        expect(text.endsWith("}\n")).toBe(true);
        expect(text).not.toContain("insecure");
        expect(JSON.parse(text)).toEqual({
            dns: ["10.10.10.1"],
            "dns-search": ["matrix"],
            icc: false,
            "live-restore": true,
            "log-driver": "json-file",
            "log-opts": { "max-size": "10m", "max-file": "3" },
        });
    });
});

describe("renderRegistryConfig", () => {
    test("valid YAML: filesystem storage, no deletes through the API, the manager's private address, HTTPS, nosniff, htpasswd auth always", () => {
        const y = parseYaml(renderRegistryConfig(sampleModel({ registry: { port: 5001 } })));
        expect(y.version).toBe(0.1);
        expect(y.storage.filesystem.rootdirectory).toBe(paths.container.registryData);
        expect(y.storage.delete).toEqual({ enabled: false });
        expect(y.http.addr).toBe("10.10.10.1:5001");
        expect(y.http.tls).toEqual({ certificate: paths.container.registryCertificate, key: paths.container.registryKey });
        expect(y.http.headers["X-Content-Type-Options"]).toEqual(["nosniff"]);
        expect(y.auth).toEqual({ htpasswd: { realm: "matrix-registry", path: paths.container.registryHtpasswd } });
    });
});

// ------------------------------------------------------------------------------------------------
// The real dnsmasq.

/** Minimal DNS client: A records of a name (or the rcode when there are none). */
function queryA(port: number, name: string, timeoutMs = 3000): Promise<{ rcode: number; addresses: string[] }> {
    const id = Math.floor(Math.random() * 65535);
    const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")]));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x0100, 2); // recursion desired
    header.writeUInt16BE(1, 4);
    const question = Buffer.concat([...labels, Buffer.from([0, 0, 1, 0, 1])]);
    const sock = dgram.createSocket("udp4");
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            sock.close();
            reject(new Error(`no DNS answer for ${name} from 127.0.0.1:${port}`));
        }, timeoutMs);
        sock.on("message", (msg) => {
            clearTimeout(timer);
            sock.close();
            const rcode = msg.readUInt16BE(2) & 0xf;
            const ancount = msg.readUInt16BE(6);
            let off = 12 + question.length;
            const addresses: string[] = [];
            for (let i = 0; i < ancount; i++) {
                // name: a compression pointer or labels
                while (msg[off] !== 0 && (msg[off] & 0xc0) !== 0xc0) off += msg[off] + 1;
                off += msg[off] === 0 ? 1 : 2;
                const type = msg.readUInt16BE(off);
                const rdlength = msg.readUInt16BE(off + 8);
                off += 10;
                if (type === 1 && rdlength === 4) addresses.push([...msg.subarray(off, off + 4)].join("."));
                off += rdlength;
            }
            resolve({ rcode, addresses });
        });
        sock.send(Buffer.concat([header, question]), port, "127.0.0.1");
    });
}

function freeUdpPort(): Promise<number> {
    return new Promise((resolve) => {
        const s = dgram.createSocket("udp4");
        s.bind(0, "127.0.0.1", () => {
            const port = s.address().port;
            s.close(() => resolve(port));
        });
    });
}

describe("dnsmasq accepts and serves the rendered configuration", () => {
    let dnsmasq: string;
    let tmp: string;
    beforeAll(() => {
        dnsmasq = requireTool("dnsmasq", "dnsmasq-base");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-dnsmasq-"));
        fs.chmodSync(tmp, 0o755); // dnsmasq drops privileges before it reads the hosts file
    });
    afterAll(() => {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    // The conf names the hosts file at its container path; the checks point addn-hosts at a
    // copy in a temp dir (the only change for `--test`).
    function writeConf(name: string, conf: string, hosts: string): string {
        const hostsFile = path.join(tmp, `${name}.hosts`);
        fs.writeFileSync(hostsFile, hosts, { mode: 0o644 });
        const file = path.join(tmp, `${name}.conf`);
        expect(conf).toContain(`addn-hosts=${paths.container.dnsHosts}\n`);
        fs.writeFileSync(file, conf.replace(`addn-hosts=${paths.container.dnsHosts}`, `addn-hosts=${hostsFile}`), { mode: 0o644 });
        return file;
    }

    test.each([
        ["sample (upstream, DHCP)", sampleModel()],
        ["no upstream, no DHCP", sampleModel({ network: { upstreamDns: [], dhcp: undefined } })],
    ])("dnsmasq --test: %s", (name, model) => {
        const file = writeConf(name.replace(/\W+/g, "-"), renderDnsmasqConf(model), renderDnsHosts(model));
        const r = spawnSync(dnsmasq, ["--test", "-C", file], { encoding: "utf8", timeout: 30_000 });
        if (r.error || r.status !== 0) throw new Error(`dnsmasq --test rejected ${file}: ${r.stdout}${r.stderr}${r.error?.message ?? ""}`);
        expect(`${r.stdout}${r.stderr}`).toMatch(/syntax check OK/);
    });

    test("dnsmasq --test catches a broken conf (the check is real)", () => {
        const file = writeConf("broken", renderDnsmasqConf(sampleModel()) + "no-such-option\n", "");
        expect(spawnSync(dnsmasq, ["--test", "-C", file], { encoding: "utf8" }).status).not.toBe(0);
    });

    test("answers the records on loopback and re-reads them on SIGHUP", async () => {
        // Serve the rendered conf (no DHCP, no upstream: nothing leaves loopback) on 127.0.0.1:<free port>.
        const model = sampleModel({ network: { upstreamDns: [], dhcp: undefined } });
        model.applications.push(sampleApp("shop", [replica("node1", 20005)], { route: { hostname: "shop.matrix", path: "/" } }));
        const port = await freeUdpPort();
        const conf = renderDnsmasqConf(model).replace("listen-address=10.10.10.1", "listen-address=127.0.0.1") + `port=${port}\nno-resolv\npid-file=\nlog-facility=-\n`;
        const file = writeConf("serve", conf, renderDnsHosts(model));
        const child: ChildProcess = spawn(dnsmasq, ["--keep-in-foreground", "-C", file], { stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        child.stderr!.on("data", (d) => (log += d));
        try {
            let first: { rcode: number; addresses: string[] } | undefined;
            for (let i = 0; i < 50 && !first; i++) {
                if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}): ${log}`);
                first = await queryA(port, "manager.matrix", 200).catch(() => undefined);
                if (!first) await new Promise((r) => setTimeout(r, 100));
            }
            expect(first?.addresses).toEqual(["10.10.10.1"]);
            expect((await queryA(port, "registry.matrix")).addresses).toEqual(["10.10.10.1"]);
            expect((await queryA(port, "shop.matrix")).addresses).toEqual(["10.10.10.1"]);
            expect((await queryA(port, "node2.matrix")).addresses).toEqual(["10.10.10.12"]);
            expect((await queryA(port, "node3")).addresses).toEqual(["10.10.10.13"]);
            // local=/matrix/: unknown names of the domain are NXDOMAIN here, never forwarded.
            expect(await queryA(port, "nothing.matrix")).toEqual({ rcode: 3, addresses: [] });

            // A new node: rewrite the hosts file, SIGHUP, and it resolves without a restart.
            const grown = sampleModel({ ...model, nodes: [...model.nodes, sampleHost("node4", "10.10.10.14")] });
            fs.writeFileSync(path.join(tmp, "serve.hosts"), renderDnsHosts(grown));
            child.kill("SIGHUP");
            let answer: string[] = [];
            for (let i = 0; i < 30 && answer.length === 0; i++) {
                await new Promise((r) => setTimeout(r, 100));
                answer = (await queryA(port, "node4.matrix")).addresses;
            }
            expect(answer).toEqual(["10.10.10.14"]);
        } finally {
            child.kill("SIGTERM");
        }
    }, 20_000);
});

// ------------------------------------------------------------------------------------------------
// The real dnsmasq handing out DHCP leases, between two network namespaces joined by a veth pair
// (root and NET_ADMIN needed, as for the lab; busybox's udhcpc is the client).

describe("DHCP: the rendered configuration hands out leases in a network namespace", () => {
    const id = `${process.pid % 100000}`;
    const [srv, cli] = [`mxs${id}`, `mxc${id}`];
    let dnsmasq: string;
    let busybox: string;
    let tmp: string;
    let conf: string;
    let hostsFile: string;
    let leaseFile: string;
    let server: ChildProcess | undefined;
    let log = "";
    const run = (...args: string[]) => {
        const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", timeout: 30_000 });
        if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}${r.error?.message ?? ""}`);
        return r.stdout;
    };
    const start = async () => {
        log = "";
        server = spawn("ip", ["netns", "exec", srv, dnsmasq, "--keep-in-foreground", "-C", conf], { stdio: ["ignore", "ignore", "pipe"] });
        server.stderr!.on("data", (d) => (log += d));
        for (let i = 0; i < 50 && !/DHCP, IP range/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
        if (!/DHCP, IP range/.test(log)) throw new Error(`dnsmasq did not start DHCP:\n${log}`);
    };
    const stop = async () => {
        if (!server) return;
        const exited = new Promise((r) => server!.once("exit", r));
        server.kill("SIGTERM");
        await exited;
        server = undefined;
    };
    /** One DHCP exchange from the client namespace, sending `hostname`; the address leased. */
    const lease = (hostname: string) => {
        const out = run("ip", "netns", "exec", cli, busybox, "udhcpc", "-i", "veth-c", "-n", "-q", "-f", "-t", "5", "-T", "1", "-x", `hostname:${hostname}`, "-s", path.join(tmp, "udhcpc.sh"));
        return /^leased (\S+)$/m.exec(out)?.[1];
    };

    beforeAll(async () => {
        if (process.getuid?.() !== 0) throw new Error("the DHCP test needs root (it makes network namespaces, as the lab does): run the suite as root, as .ci/run does");
        dnsmasq = requireTool("dnsmasq", "dnsmasq-base");
        busybox = requireTool("busybox", "busybox");
        requireTool("ip", "iproute2");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-dhcp-"));
        fs.chmodSync(tmp, 0o755);
        fs.writeFileSync(path.join(tmp, "udhcpc.sh"), '#!/bin/sh\n[ "$1" = bound ] && echo "leased $ip"\nexit 0\n', { mode: 0o755 });
        run("ip", "netns", "add", srv);
        run("ip", "netns", "add", cli);
        run("ip", "link", "add", "veth-s", "netns", srv, "type", "veth", "peer", "name", "veth-c", "netns", cli);
        run("ip", "-n", srv, "addr", "add", "10.10.10.1/24", "dev", "veth-s");
        for (const [ns, dev] of [[srv, "veth-s"], [cli, "veth-c"], [srv, "lo"], [cli, "lo"]]) run("ip", "-n", ns, "link", "set", dev, "up");
        // The rendered conf with the container paths pointed into the temp dir, DNS off (port=0).
        const model = sampleModel({ network: { upstreamDns: [] } });
        hostsFile = path.join(tmp, "dhcp-hosts");
        leaseFile = path.join(tmp, "leases");
        fs.writeFileSync(hostsFile, renderDhcpHosts(model));
        fs.writeFileSync(path.join(tmp, "hosts"), renderDnsHosts(model));
        conf = path.join(tmp, "dnsmasq.conf");
        fs.writeFileSync(
            conf,
            renderDnsmasqConf(model)
                .replace(paths.container.dhcpHosts, hostsFile)
                .replace(paths.container.dnsLeases, leaseFile)
                .replace(paths.container.dnsHosts, path.join(tmp, "hosts")) + "port=0\npid-file=\nlog-facility=-\nuser=root\n",
        );
        await start();
    });
    afterAll(async () => {
        await stop();
        for (const ns of [srv, cli]) spawnSync("ip", ["netns", "del", ns]);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    test("a node that sends its name gets its address; another client gets one from the range", () => {
        expect(lease("node2")).toBe("10.10.10.12");
        const visitor = lease("visitor");
        expect(visitor).toMatch(/^10\.10\.10\.(1\d\d|200)$/);
    });

    test("a changed fixed lease is served after SIGHUP, by the same process (no restart)", async () => {
        const pid = server!.pid;
        fs.writeFileSync(hostsFile, "node2,10.10.10.42\n");
        server!.kill("SIGHUP");
        await new Promise((r) => setTimeout(r, 300));
        expect(lease("node2")).toBe("10.10.10.42");
        expect(server!.pid).toBe(pid);
        expect(server!.exitCode).toBeNull();
    });

    test("leases survive a restart: the lease file keeps them and the client keeps its address", async () => {
        const before = lease("visitor");
        await stop();
        expect(fs.readFileSync(leaseFile, "utf8")).toContain(" visitor ");
        await start();
        expect(lease("visitor")).toBe(before);
    });
});
