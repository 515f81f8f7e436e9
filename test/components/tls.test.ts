// TLS wiring under pulumi mocks (nothing is applied; see harness.ts): the CA and the certificates
// it issues (local openssl commands), the registry's HTTPS, each host's trust in certs.d, hitch in
// front of Varnish, and that no private key is ever a plain input or output.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { registryCaPath } from "../../core/layout";
import { devConfig, Registered, Run, runProgram } from "./harness";

jest.setTimeout(60000);

const last = (urn: string) => urn.split("::").pop();
/** Secret inputs arrive in their wire form: {<sig>: ..., value}. */
const unwrap = (v: any) => (v && typeof v === "object" && "value" in v ? v.value : v);
const HOSTS = ["manager", "node1", "node2", "node3"];
const mockPem = (name: string) => ({
    certificate: `-----BEGIN CERTIFICATE-----\nmock-${name}-certificate\n-----END CERTIFICATE-----\n`,
    key: `-----BEGIN PRIVATE KEY-----\nmock-${name}-key\n-----END PRIVATE KEY-----\n`,
});
const KEY_TEXT = /PRIVATE KEY|mock-\w+-key|0per4tor-key/;

/** Every input that is not secret, as text. */
const plainInputs = (r: Registered) => JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !r.secretInputs.includes(k))));

function noKeyInPlainSight(run: Run) {
    for (const r of run.resources) {
        // Scripts are never secret: the check below really reads them.
        for (const k of ["create", "update", "delete"]) expect(r.secretInputs).not.toContain(k);
        if (KEY_TEXT.test(plainInputs(r))) throw new Error(`${r.type} ${r.name} has a private key in a plain input: ${plainInputs(r)}`);
    }
    expect(JSON.stringify(run.outputs)).not.toMatch(KEY_TEXT);
}

describe("dev stack (lab): a generated CA, HTTPS registry and router", () => {
    let run: Run;
    beforeAll(async () => {
        run = await runProgram(devConfig());
    });

    test("the program ran", () => expect(run.error).toBeUndefined());

    test("the CA: made once by a local openssl command, its output secret and never logged, a child of the Certificates component", () => {
        const ca = run.byName("command:local:Command", "certificates-ca");
        expect(ca.parent).toBe(run.byName("matrix:index:Certificates", "certificates").urn);
        expect(run.byName("matrix:index:Certificates", "certificates").parent).toBe(run.byName("matrix:index:Cloud", "matrix").urn);
        expect(ca.inputs.create).toContain("openssl req -x509");
        expect(ca.inputs.create).toContain("-days 3650");
        expect(ca.inputs.logging).toBe("none");
        expect(ca.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
        // Create-only: nothing re-runs it, not even a changed script.
        expect(ca.inputs.triggers).toBeUndefined();
        expect(ca.inputs.update).toBeUndefined();
        expect(ca.ignoreChanges).toEqual(["create"]);
    });

    test("leaf certificates: the CA on stdin (secret), the names in the script and the triggers, output secret", () => {
        for (const [leaf, sans] of [
            ["registry", "DNS:registry.matrix,DNS:manager.matrix,IP:10.10.10.1,IP:127.0.0.1"],
            ["router", "DNS:manager.matrix,DNS:localhost,IP:10.10.10.1,IP:127.0.0.1"],
        ]) {
            const c = run.byName("command:local:Command", `certificates-${leaf}`);
            expect(c.inputs.create).toContain(`subjectAltName = ${sans}\n`);
            expect(c.inputs.create).toContain("-days 397");
            expect(c.secretInputs).toContain("stdin");
            expect(unwrap(c.inputs.stdin)).toBe(mockPem("ca").certificate + mockPem("ca").key);
            expect(c.inputs.logging).toBe("none");
            expect(c.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
            expect(c.inputs.triggers[0]).toBe(sans);
            expect(c.inputs.triggers[2]).toMatch(/^renew-\d+$/);
        }
    });

    test("every host trusts the CA for the registry (certs.d) before its Docker provider exists", () => {
        for (const h of HOSTS) {
            const ca = run.byName("command:remote:Command", `${h}-registry-ca`);
            expect(ca.inputs.create).toContain(`> ${registryCaPath("manager.matrix:5000")}.tmp`);
            expect(registryCaPath("manager.matrix:5000")).toBe("/etc/docker/certs.d/manager.matrix:5000/ca.crt");
            expect(ca.inputs.stdin).toBe(mockPem("ca").certificate);
            expect(ca.dependencies.map(last)).toContain(`${h}-bootstrap`);
            expect(run.byName("pulumi:providers:docker", `${h}-docker`).dependencies.map(last)).toContain(`${h}-registry-ca`);
        }
    });

    test("daemon.json trusts no registry without TLS", () => {
        for (const h of HOSTS) {
            const stdin = run.byName("command:remote:Command", `${h}-bootstrap`).inputs.stdin;
            expect(JSON.parse(stdin)).not.toHaveProperty("insecure-registries");
        }
    });

    test("the registry: HTTPS with its certificate, its key a root-only file written from a secret stdin; both before the container", () => {
        const cert = run.byName("command:remote:Command", "manager-registry-certificate");
        expect(cert.inputs.create).toContain("/var/lib/matrix/registry/tls.crt");
        expect(cert.inputs.stdin).toBe(mockPem("registry").certificate);
        const key = run.byName("command:remote:Command", "manager-registry-key");
        expect(key.inputs.create).toContain("umask 077");
        expect(key.inputs.create).toContain("/var/lib/matrix/registry/tls.key");
        expect(key.secretInputs).toContain("stdin");
        expect(unwrap(key.inputs.stdin)).toBe(mockPem("registry").key);
        expect(key.inputs.logging).toBe("none");
        const container = run.byName("docker:index/container:Container", "manager-registry");
        expect(container.dependencies.map(last)).toEqual(expect.arrayContaining(["manager-registry-certificate", "manager-registry-key", "manager-registry-config"]));
        const config = run.byName("command:remote:Command", "manager-registry-config").inputs.stdin as string;
        expect(config).toMatch(/tls:\n {4}certificate: "\/etc\/matrix\/registry\/tls\.crt"\n {4}key: "\/etc\/matrix\/registry\/tls\.key"/);
    });

    test("the router: Varnish gets a PROXY listener; hitch runs beside it on the manager, its PEM root-only, reloaded when the certificate changes", () => {
        const varnish = run.byName("docker:index/container:Container", "router");
        expect(varnish.inputs.envs).toContain("TLS_PROXY_PORT=8443");
        const hitch = run.byName("docker:index/container:Container", "router-tls");
        expect(hitch.parent).toBe(run.byName("matrix:index:Router", "router").urn);
        expect(hitch.provider).toContain("::manager-docker::");
        expect(hitch.inputs).toMatchObject({ name: "matrix-tls", command: ["matrix-hitch"], networkMode: "host", restart: "unless-stopped" });
        expect(hitch.inputs.mounts).toEqual([{ type: "bind", source: "/var/lib/matrix/tls", target: "/etc/matrix/tls", readOnly: true }]);
        expect(hitch.dependencies.map(last)).toEqual(expect.arrayContaining(["router-tls-config", "router-tls-pem", "router"]));
        const conf = run.byName("command:remote:Command", "router-tls-config").inputs.stdin as string;
        expect(conf).toContain('frontend = "[*]:443"');
        expect(conf).toContain('backend = "[127.0.0.1]:8443"');
        const pem = run.byName("command:remote:Command", "router-tls-pem");
        expect(pem.secretInputs).toContain("stdin");
        expect(unwrap(pem.inputs.stdin)).toBe(mockPem("router").certificate + mockPem("router").key);
        expect(pem.inputs.create).toContain("umask 077");
        const reload = run.byName("command:remote:Command", "router-tls-reload");
        expect(reload.inputs.create).toContain("docker exec matrix-tls sh -c 'kill -s HUP 1'");
        expect(reload.dependencies.map(last)).toEqual(expect.arrayContaining(["router-tls", "router-tls-pem"]));
        expect(reload.inputs.triggers).toHaveLength(2);
    });

    test("the lab publishes HTTPS on 127.0.0.1:8443", () => {
        expect(run.byName("docker:index/container:Container", "lab-manager").inputs.ports).toContainEqual({ internal: 443, external: 8443, ip: "127.0.0.1" });
    });

    test("stack outputs: the CA certificate only, and the router's HTTPS URL", () => {
        expect(run.outputs.ca).toBe(mockPem("ca").certificate);
        expect(run.outputs.routerHttpsUrl).toBe("https://127.0.0.1:8443/");
    });

    test("no private key in any plain input or output", () => noKeyInPlainSight(run));
});

describe("router.tls off", () => {
    let run: Run;
    beforeAll(async () => {
        const cfg = devConfig();
        cfg.router = { ...cfg.router, tls: { enabled: false } };
        run = await runProgram(cfg);
    });

    test("no hitch, no router certificate, no PROXY listener, no published HTTPS port; the registry keeps HTTPS", () => {
        expect(run.error).toBeUndefined();
        expect(run.resources.filter((r) => /^router-tls|^certificates-router$/.test(r.name))).toEqual([]);
        expect(run.byName("docker:index/container:Container", "router").inputs.envs.join(" ")).not.toContain("TLS_PROXY_PORT");
        expect(run.byName("docker:index/container:Container", "lab-manager").inputs.ports.map((p: any) => p.external)).not.toContain(8443);
        expect(run.byName("command:local:Command", "certificates-registry")).toBeDefined();
        expect(run.outputs.routerHttpsUrl).toBeUndefined();
        expect((run.outputs.applications as any).simplewebapp1.urls).toEqual(["http://127.0.0.1:8080/simplewebapp1/"]);
    });
});

describe("ssh mode with the operator's CA (a file) and router certificate (secrets)", () => {
    let run: Run;
    let dir: string;
    const operatorCa = "-----BEGIN CERTIFICATE-----\noperator-ca\n-----END CERTIFICATE-----\n";
    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-ca-"));
        fs.writeFileSync(path.join(dir, "ca.crt"), operatorCa);
        const cfg = devConfig();
        Object.assign(cfg, {
            mode: "ssh",
            lab: undefined,
            ssh: { privateKey: { secret: "sshKey" } },
            tls: { ca: { certificate: { path: path.join(dir, "ca.crt") }, key: { secret: "caKey" } } },
            router: { ...cfg.router, tls: { certificate: { secret: "routerCert" }, key: { secret: "routerKey" }, redirectHttp: true } },
        });
        run = await runProgram(cfg, {
            sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n",
            caKey: "-----BEGIN PRIVATE KEY-----\n0per4tor-key\n-----END PRIVATE KEY-----\n",
            routerCert: "-----BEGIN CERTIFICATE-----\noperator-router\n-----END CERTIFICATE-----\n",
            routerKey: "-----BEGIN PRIVATE KEY-----\n0per4tor-key-router\n-----END PRIVATE KEY-----\n",
        });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("the program ran", () => expect(run.error).toBeUndefined());

    test("no CA is generated; the registry's certificate is issued by the operator's CA (its key on stdin only)", () => {
        expect(run.resources.some((r) => r.name === "certificates-ca")).toBe(false);
        const leaf = run.byName("command:local:Command", "certificates-registry");
        expect(leaf.secretInputs).toContain("stdin");
        expect(unwrap(leaf.inputs.stdin)).toContain("0per4tor-key");
        expect(leaf.inputs.create).toContain("subjectAltName = DNS:registry.matrix,DNS:manager.matrix,IP:10.10.10.1\n");
        for (const h of HOSTS) expect(run.byName("command:remote:Command", `${h}-registry-ca`).inputs.stdin).toBe(operatorCa);
        expect(run.outputs.ca).toBe(operatorCa);
    });

    test("the router serves the operator's certificate: none is issued for it", () => {
        expect(run.resources.some((r) => r.name === "certificates-router")).toBe(false);
        const pem = run.byName("command:remote:Command", "router-tls-pem");
        expect(pem.secretInputs).toContain("stdin");
        expect(unwrap(pem.inputs.stdin)).toContain("operator-router");
        expect(unwrap(pem.inputs.stdin)).toContain("0per4tor-key-router");
        expect(run.outputs.routerHttpsUrl).toBe("https://10.10.10.1/");
    });

    test("redirectHttp: the VCL sends plain requests to https:// on the router's TLS port", () => {
        const vcl = run.byName("command:remote:Command", "router-vcl").inputs.stdin as string;
        expect(vcl).toContain('set req.http.X-Matrix-Location = "https://" + regsub(req.http.host, ":[0-9]+$", "") + req.url;');
    });

    test("no private key in any plain input or output", () => noKeyInPlainSight(run));
});
