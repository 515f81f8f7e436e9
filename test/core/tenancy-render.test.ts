// The tenancy half's rendered files: the jump host's sshd config, the manager's routes, the
// nodes' instance agent (tc and disk watchdog, checked by sh -n) and the firewall's tenant chains.
import { spawnSync } from "child_process";
import { buildModel } from "../../core/config";
import { renderDnsHosts, renderFirewall } from "../../core/render";
import { instanceLabels, renderInstanceAgent, renderJumpSshdConfig, renderJumpUsers, renderTenantRoutes } from "../../core/tenancy-render";
import { baseConfig, configEnv } from "./fixtures";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1uXvQv3Qj9w8i2a8sJmOq7ZKc3vJ8Y1pQx0Wn1dUa alice@laptop";
function model(extra: Record<string, unknown> = {}) {
    const c = baseConfig();
    c.nodes.forEach((n: Record<string, unknown>) => Object.assign(n, { cpus: 4, memory: "4g" }));
    Object.assign(c, {
        tenants: [{ name: "acme", keys: [KEY] }, { name: "idle", keys: [KEY] }],
        instances: [{ tenant: "acme", name: "dev1", node: "node1", cpus: 2, memory: "1g", disk: "2g", bandwidth: { in: "10mbit", out: "5mbit" } }],
        ...extra,
    });
    return buildModel(c, configEnv());
}
const shellOk = (script: string) => spawnSync("sh", ["-n"], { input: script }).status;

describe("jump host", () => {
    const m = model();
    const conf = renderJumpSshdConfig(m);
    test("key-only, no shell, no TTY, forwarding only to the tenant's own instances", () => {
        for (const line of ["PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no", "AuthenticationMethods publickey", "PermitTTY no", "AllowTcpForwarding no", "X11Forwarding no", "PermitTunnel no", "ForceCommand /usr/local/bin/matrix-jump-only", "Port 2222", "AllowUsers acme idle"])
            expect(conf).toContain(`\n${line}\n`);
        const x = m.tenancy.instances[0];
        expect(conf).toContain(`Match User acme\n    AllowTcpForwarding local\n    PermitOpen dev1.acme.matrix:22 ${x.address}:22\n`);
        expect(conf).toContain("Match User idle\n    AllowTcpForwarding local\n    PermitOpen none\n");
    });
    test("users and their keys", () => {
        expect(renderJumpUsers(m)).toEqual({ users: "acme\nidle\n", keys: { acme: `${KEY}\n`, idle: `${KEY}\n` } });
    });
});

describe("routes, agent, labels, DNS, firewall", () => {
    const m = model();
    const net = m.tenancy.networks[0];
    test("the manager routes each tenant subnet to its node", () => {
        const s = renderTenantRoutes(m, "apply");
        expect(s).toContain(`ip route replace ${net.subnet} via 10.10.10.11`);
        expect(shellOk(s)).toBe(0);
        expect(renderTenantRoutes(m, "remove")).toContain("action=remove");
    });
    test("the instance agent: tbf towards the instance (host veth) and from it (its eth0, from its netns), the watchdog stops over the limit", () => {
        const s = renderInstanceAgent(m);
        expect(shellOk(s)).toBe(0);
        expect(s).toContain('tc qdisc replace dev "$dev" root tbf rate "${in}kbit"');
        expect(s).toContain('nsenter -t "$pid" -n tc qdisc replace dev eth0 root tbf rate "${out}kbit"');
        expect(s).not.toContain("police rate"); // needs act_police, which a node in a container cannot load
        expect(s).toContain("docker stop -t 5");
        expect(s).toContain("sleep 10");
        expect(s).toContain("{{.GraphDriver.Data.UpperDir}}");
        // Quota mode: Docker enforces the size; the agent only shapes.
        expect(renderInstanceAgent(model({ tenancy: { disk: "quota" } }))).not.toContain("docker stop");
    });
    test("labels carry the limits the agent reads", () => {
        expect(instanceLabels(m, m.tenancy.instances[0])).toEqual({ "matrix.cloud": "matrix", "matrix.instance": "acme/dev1", "matrix.tenant": "acme", "matrix.bw-in-kbit": "10000", "matrix.bw-out-kbit": "5000", "matrix.disk-mib": "2048" });
    });
    test("DNS answers <instance>.<tenant>.<domain>", () => {
        expect(renderDnsHosts(m)).toContain(`${m.tenancy.instances[0].address}\tdev1.acme.matrix\n`);
    });
    test("firewall: per tenant bridge, in from the manager's sshd clients only, out never to other tenants or hosts", () => {
        const s = renderFirewall(m);
        expect(shellOk(s)).toBe(0);
        expect(s).toContain(`ipt -A MATRIX-TENANT-IN -s 10.10.10.1 -p tcp --dport 22 -j ACCEPT`);
        expect(s).toContain(`ipt -A MATRIX-TENANT-OUT -d 172.31.0.0/16 -j REJECT`);
        expect(s).toContain(`ipt -I DOCKER-USER -o ${net.bridge} -j MATRIX-TENANT-IN`);
        expect(s).toContain(`ipt -A MATRIX-APPS -d 172.31.0.0/16 -j REJECT`);
        // No tenants: the script is what it was.
        expect(renderFirewall(model({ tenants: [], instances: [] }))).not.toContain("MATRIX-TENANT-IN -s");
    });
});
