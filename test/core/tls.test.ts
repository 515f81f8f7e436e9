// TLS: the names each certificate is issued for, the openssl scripts (run for real, here, in a
// temp dir), hitch's config (checked by the real hitch), and the config keys tls / router.tls.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildModel, ConfigEnv } from "../../core/config";
import { paths } from "../../core/layout";
import { renderFirewall, renderHitchConf, renderVcl } from "../../core/render";
import { renderScript } from "../../core/scripts";
import { CA_DAYS, joinPem, LEAF_DAYS, registryCertRequest, renewalPeriod, RENEW_DAYS, routerCertRequest, splitPem, subjectAltNames } from "../../core/tls";
import { requireTool } from "../varnish/vtc";
import { sampleApp, sampleModel } from "./fixtures";

describe("certificate names", () => {
    test("registry (ssh mode): registry.<domain>, the manager's name, its address and the push address", () => {
        const m = sampleModel();
        expect(registryCertRequest(m)).toEqual({ commonName: "registry.matrix", dnsNames: ["registry.matrix", "manager.matrix"], ipAddresses: ["10.10.10.1"] });
        const pushByName = sampleModel({ registry: { pushAddress: "registry.example.com:5000" } });
        expect(subjectAltNames(registryCertRequest(pushByName))).toEqual(["DNS:registry.matrix", "DNS:manager.matrix", "DNS:registry.example.com", "IP:10.10.10.1"]);
    });

    test("registry (lab mode): also 127.0.0.1, where the lab publishes it", () => {
        const m = sampleModel({ mode: "lab", registry: { pushAddress: "127.0.0.1:5000" } });
        expect(registryCertRequest(m).ipAddresses).toEqual(["10.10.10.1", "127.0.0.1"]);
    });

    test("router: the manager's name and address, router.tls.hostnames, the apps' virtual hosts, its bind address; lab: localhost and 127.0.0.1", () => {
        const m = sampleModel({
            router: { bind: "10.10.10.1", tls: { hostnames: ["www.example.com", "192.0.2.10", "*.apps.example.com"] } },
            applications: [sampleApp("shop", [], { route: { path: "/", hostname: "shop.matrix", stripPrefix: false } }), sampleApp("blog", [])],
        });
        expect(routerCertRequest(m)).toEqual({
            commonName: "manager.matrix",
            dnsNames: ["manager.matrix", "www.example.com", "*.apps.example.com", "shop.matrix"],
            ipAddresses: ["192.0.2.10", "10.10.10.1"],
        });
        expect(subjectAltNames(routerCertRequest(sampleModel({ mode: "lab", applications: [] })))).toEqual(["DNS:manager.matrix", "DNS:localhost", "IP:10.10.10.1", "IP:127.0.0.1"]);
    });

    test("renewal: one period per RENEW_DAYS, well inside a leaf's validity", () => {
        const day = 86_400_000;
        expect(RENEW_DAYS * 2).toBeLessThan(LEAF_DAYS);
        expect(renewalPeriod(0)).toBe(renewalPeriod(RENEW_DAYS * day - 1));
        expect(renewalPeriod(0)).not.toBe(renewalPeriod(RENEW_DAYS * day));
    });

    test("splitPem: the certificates in order, and the key", () => {
        const cert = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;
        const key = "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----";
        expect(splitPem(`${cert("a")}\n${key}\n${cert("b")}\n`)).toEqual({ certificates: `${cert("a")}\n${cert("b")}\n`, key: `${key}\n` });
        expect(splitPem("-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n").key).toBe("-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n");
        expect(splitPem("nothing")).toEqual({ certificates: "", key: "" });
        // Joined back, even from a file without its final newline.
        expect(joinPem(cert("a"), `${key}\n\n`)).toBe(`${cert("a")}\n${key}\n`);
        expect(splitPem(joinPem(cert("a"), key))).toEqual({ certificates: `${cert("a")}\n`, key: `${key}\n` });
    });
});

describe("openssl scripts, run here", () => {
    let tmp: string;
    let openssl: string;
    beforeAll(() => {
        openssl = requireTool("openssl", "openssl");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-tls-"));
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const sh = (script: string, stdin = "") => {
        const r = spawnSync("sh", ["-c", script], { input: stdin, encoding: "utf8", cwd: tmp, env: { ...process.env, TMPDIR: tmp } });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const write = (name: string, text: string) => {
        const file = path.join(tmp, name);
        fs.writeFileSync(file, text);
        return file;
    };
    const ossl = (...args: string[]) => spawnSync(openssl, args, { encoding: "utf8", cwd: tmp });
    const caScript = renderScript("tls-ca", { commonName: "matrix CA (matrix)", days: CA_DAYS });
    const leafScript = (req: ReturnType<typeof routerCertRequest>) => renderScript("tls-leaf", { what: "router", commonName: req.commonName, sans: subjectAltNames(req).join(","), days: LEAF_DAYS });
    let ca: { certificates: string; key: string };

    test("the CA: an ECDSA P-256 key and a self-signed CA certificate for ten years; nothing left on disk", () => {
        const r = sh(caScript);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        ca = splitPem(r.stdout);
        expect(ca.certificates).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        const caFile = write("ca.pem", ca.certificates);
        const text = ossl("x509", "-in", caFile, "-noout", "-text").stdout;
        expect(text).toContain("Subject: CN = matrix CA (matrix)");
        expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
        expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
        expect(text).toContain("ASN1 OID: prime256v1");
        // Valid for CA_DAYS: checkend one day before passes, one day after fails.
        expect(ossl("x509", "-in", caFile, "-noout", "-checkend", String((CA_DAYS - 1) * 86400)).status).toBe(0);
        expect(ossl("x509", "-in", caFile, "-noout", "-checkend", String((CA_DAYS + 1) * 86400)).status).not.toBe(0);
        expect(fs.readdirSync(tmp).filter((f) => f.startsWith("tmp."))).toEqual([]);
        // The scripts name neither key nor certificate: secrets never enter a command string.
        expect(caScript).not.toContain("PRIVATE");
    });

    test("a leaf: signed by the CA (stdin), for exactly the requested names, a server certificate for about a year", () => {
        const req = routerCertRequest(sampleModel({ mode: "lab", router: { tls: { hostnames: ["www.example.com"] } } }));
        const r = sh(leafScript(req), ca.certificates + ca.key);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const leaf = splitPem(r.stdout);
        expect(leaf.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        const caFile = write("ca.pem", ca.certificates);
        const leafFile = write("leaf.pem", leaf.certificates);
        const verified = ossl("verify", "-CAfile", caFile, leafFile);
        expect(verified.stdout.trim()).toBe(`${leafFile}: OK`);
        expect(ossl("x509", "-in", leafFile, "-noout", "-ext", "subjectAltName").stdout).toContain("DNS:manager.matrix, DNS:www.example.com, DNS:localhost, IP Address:10.10.10.1, IP Address:127.0.0.1");
        const text = ossl("x509", "-in", leafFile, "-noout", "-text").stdout;
        expect(text).toContain("Subject: CN = manager.matrix");
        expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
        expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication/);
        expect(ossl("x509", "-in", leafFile, "-noout", "-checkend", String((LEAF_DAYS - 1) * 86400)).status).toBe(0);
        expect(ossl("x509", "-in", leafFile, "-noout", "-checkend", String((LEAF_DAYS + 1) * 86400)).status).not.toBe(0);
        // The key is the certificate's.
        const pub = (args: string[], input: string) => spawnSync(openssl, args, { input, encoding: "utf8" }).stdout;
        expect(pub(["pkey", "-pubout"], leaf.key)).toBe(pub(["x509", "-noout", "-pubkey"], leaf.certificates));
        // Another issue: another key and serial.
        const again = splitPem(sh(leafScript(req), ca.certificates + ca.key).stdout);
        expect(again.key).not.toBe(leaf.key);
        expect(fs.readdirSync(tmp).filter((f) => f.startsWith("tmp."))).toEqual([]);
    });

    test("a leaf for the registry verifies for its names (openssl -verify_hostname / -verify_ip)", () => {
        const req = registryCertRequest(sampleModel());
        const leaf = splitPem(sh(leafScript(req), ca.certificates + ca.key).stdout);
        const caFile = write("ca.pem", ca.certificates);
        const leafFile = write("registry.pem", leaf.certificates);
        expect(ossl("verify", "-CAfile", caFile, "-verify_hostname", "manager.matrix", leafFile).status).toBe(0);
        expect(ossl("verify", "-CAfile", caFile, "-verify_hostname", "registry.matrix", leafFile).status).toBe(0);
        expect(ossl("verify", "-CAfile", caFile, "-verify_ip", "10.10.10.1", leafFile).status).toBe(0);
        expect(ossl("verify", "-CAfile", caFile, "-verify_hostname", "node1.matrix", leafFile).status).not.toBe(0);
    });

    test("a CA without its key: the leaf script fails and says why", () => {
        const r = sh(leafScript(routerCertRequest(sampleModel())), ca.certificates);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("matrix: cannot sign the router's certificate with the CA");
    });

    describe("hitch.conf", () => {
        let hitch: string;
        beforeAll(() => {
            hitch = requireTool("hitch", "hitch");
        });

        test("HTTPS on the router's TLS port (bound like the router), PROXY v2 to Varnish's loopback listener", () => {
            const conf = renderHitchConf(sampleModel())!;
            expect(conf).toContain('frontend = "[*]:443"');
            expect(conf).toContain('backend = "[127.0.0.1]:8443"');
            expect(conf).toContain("write-proxy-v2 = on");
            expect(conf).toContain(`pem-file = "${paths.container.routerPem}"`);
            expect(conf).toContain("daemon = off");
            expect(renderHitchConf(sampleModel({ router: { bind: "203.0.113.5", tls: { port: 8443, proxyPort: 9443 } } }))).toContain('frontend = "[203.0.113.5]:8443"');
            expect(renderHitchConf(sampleModel({ router: { tls: { enabled: false } } }))).toBeUndefined();
        });

        test("hitch --test accepts it with an issued certificate, and rejects a PEM without a key", () => {
            const leaf = splitPem(sh(leafScript(routerCertRequest(sampleModel())), ca.certificates + ca.key).stdout);
            const check = (pem: string) => {
                const pemFile = write("router.pem", pem);
                fs.chmodSync(pemFile, 0o600);
                // Loopback ports: --test binds nothing, but the frontend must parse.
                const conf = renderHitchConf(sampleModel({ router: { bind: "127.0.0.1" } }))!.replace(paths.container.routerPem, pemFile);
                const r = spawnSync(hitch, ["--test", `--config=${write("hitch.conf", conf)}`], { encoding: "utf8" });
                return { status: r.status, output: `${r.stdout}${r.stderr}` };
            };
            const good = check(leaf.certificates + leaf.key);
            expect(good.output).toContain("hitch configuration looks ok");
            expect(good.status).toBe(0);
            expect(check(leaf.certificates).status).not.toBe(0);
        });
    });
});

describe("VCL", () => {
    test("redirects go where clients reach HTTPS: the TLS port, or in lab mode the published one", () => {
        const location = (m: ReturnType<typeof sampleModel>) => /set req\.http\.X-Matrix-Location = "https:\/\/" \+ regsub\(req\.http\.host, ":\[0-9\]\+\$", ""\)(.*) \+ req\.url;/.exec(renderVcl(m))?.[1];
        expect(location(sampleModel({ router: { tls: { redirectHttp: true } } }))).toBe("");
        expect(location(sampleModel({ router: { tls: { redirectHttp: true, port: 8443 } } }))).toBe(' + ":8443"');
        expect(location(sampleModel({ mode: "lab", lab: { sshPortBase: 2221, routerPort: 8080, registryPort: 5000, routerTlsPort: 9443, monitorPort: 9090, jumpPort: 2200 }, router: { tls: { redirectHttp: true } } }))).toBe(' + ":9443"');
        expect(location(sampleModel())).toBeUndefined();
        expect(renderVcl(sampleModel())).toContain('if (local.socket == "tls") {');
        expect(renderVcl(sampleModel({ router: { tls: { enabled: false } } }))).not.toContain("X-Forwarded-Proto");
    });
});

describe("firewall", () => {
    test("app containers reach the router's TLS port only when TLS is on", () => {
        expect(renderFirewall(sampleModel())).toContain("--dport 443 -j RETURN");
        expect(renderFirewall(sampleModel({ router: { tls: { enabled: false } } }))).not.toContain("--dport 443");
    });
});

describe("config: tls and router.tls", () => {
    const files: Record<string, string> = { "/p/ca.crt": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", "/p/notes.txt": "hello" };
    const env = (secrets: string[] = []): ConfigEnv => ({
        projectDir: "/p",
        homeDir: "/home/op",
        secretExists: (k) => secrets.includes(k),
        readFile: (f) => files[f],
        isFile: (f) => f in files,
        hashDir: () => "0".repeat(16),
        platform: "linux/amd64",
        imageId: () => undefined,
    });
    const base = (): Record<string, any> => ({
        mode: "lab",
        network: { cidr: "10.10.10.0/24" },
        manager: { name: "manager", address: "10.10.10.1" },
        nodes: [{ name: "node1", address: "10.10.10.11" }],
        applications: [{ name: "web", image: "nginx:1.27", port: 80, replicas: 1 }],
    });
    const problems = (raw: Record<string, any>, secrets: string[] = []) => {
        try {
            buildModel(raw, env(secrets));
            return [];
        } catch (e: any) {
            return (e.message as string).split("\n").filter((l) => l.includes("matrix:"));
        }
    };

    test("defaults: a generated CA, HTTPS on 443 (lab: 127.0.0.1:8443), no redirect", () => {
        const m = buildModel(base(), env());
        expect(m.tls).toEqual({});
        expect(m.router.tls).toEqual({ enabled: true, port: 443, proxyPort: 8443, redirectHttp: false, hostnames: [] });
        expect(m.lab!.routerTlsPort).toBe(8443);
    });

    test("the operator's CA and router certificate: a file (relative to the project) or secrets", () => {
        const raw = { ...base(), tls: { ca: { certificate: { path: "ca.crt" }, key: { secret: "caKey" } } }, router: { tls: { certificate: { secret: "routerCert" }, key: { secret: "routerKey" }, redirectHttp: true } } };
        const m = buildModel(raw, env(["caKey", "routerCert", "routerKey"]));
        expect(m.tls.ca).toEqual({ certificate: { path: "/p/ca.crt" }, key: { secret: "caKey" } });
        expect(m.router.tls).toMatchObject({ certificate: { secret: "routerCert" }, key: { secret: "routerKey" }, redirectHttp: true });
    });

    test("every problem at once, each with its key and fix", () => {
        const raw = {
            ...base(),
            tls: { ca: { certificate: { path: "missing.crt" }, key: { secret: "caKey" } } },
            router: { port: 80, tls: { port: 80, proxyPort: 6082, certificate: { path: "notes.txt" } } },
            lab: { routerTlsPort: 8080 },
        };
        expect(problems(raw)).toEqual([
            "  matrix:tls.ca.certificate.path: missing.crt does not exist on this machine",
            '  matrix:tls.ca.key: secret config key "caKey" is not set; run: pulumi config set --secret caKey <value>',
            "  matrix:router.tls.key: is required with matrix:router.tls.certificate (the operator's certificate goes with its key); set both or neither",
            '  matrix:router.tls.certificate.path: notes.txt holds no PEM certificate ("-----BEGIN CERTIFICATE-----")',
            "  matrix:router.tls.port: must differ from matrix:router.port (both listen on the manager)",
            "  matrix:router.tls.proxyPort: must differ from matrix:router.adminPort (both listen on the manager)",
            "  matrix:lab.routerTlsPort: must differ from matrix:lab.routerPort and matrix:lab.registryPort",
        ]);
        expect(problems({ ...base(), router: { tls: { enabled: false, redirectHttp: true } } })).toEqual([
            "  matrix:router.tls.redirectHttp: needs TLS: remove it or set matrix:router.tls.enabled to true",
        ]);
        expect(problems({ ...base(), router: { tls: { hostnames: ["Bad Name"] } } })).toEqual([
            '  matrix:router.tls.hostnames[0]: must be a host name like "www.example.com" or an IPv4 address',
        ]);
        expect(problems({ ...base(), tls: { ca: { certificate: "ca.crt" } } })).toEqual([
            '  matrix:tls.ca.certificate: must be {path: "ca.crt"} or {secret: "<config key>"}',
            '  matrix:tls.ca.key: is required: {secret: "<config key>"}',
        ]);
    });
});
