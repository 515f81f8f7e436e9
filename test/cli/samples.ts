// Real-shaped outputs of the tools the CLI reads, as they print them (Docker 20.10 `--format
// '{{json .}}'`, Varnish 7.1 `backend.list -j` and `varnishstat -j`), and stack outputs as
// `pulumi stack output --json` prints them for the lab's dev configuration.

export const DOCKER_PS = [
    '{"Command":"\\"/usr/bin/tini -- /app/server\\"","CreatedAt":"2024-06-01 10:00:00 +0000 UTC","ID":"4c1f0e6b2a7d9e8f00112233445566778899aabbccddeeff0011223344556677","Image":"manager.matrix:5000/simplewebapp1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","Labels":"matrix.app=simplewebapp1,matrix.cloud=matrix,matrix.node=node1","LocalVolumes":"0","Mounts":"","Names":"matrix-simplewebapp1-node1-3f2a9c1b","Networks":"bridge","Ports":"10.10.10.11:20000->8080/tcp","RunningFor":"5 minutes ago","Size":"0B","State":"running","Status":"Up 5 minutes (healthy)"}',
    '{"Command":"\\"/app/server\\"","CreatedAt":"2024-06-01 09:00:00 +0000 UTC","ID":"99aa","Image":"manager.matrix:5000/simplewebapp2@sha256:feed","Labels":"matrix.app=simplewebapp2,matrix.cloud=matrix,matrix.node=node1","LocalVolumes":"0","Mounts":"","Names":"matrix-simplewebapp2-node1-77aa","Networks":"bridge","Ports":"","RunningFor":"About an hour ago","Size":"0B","State":"exited","Status":"Exited (137) 2 minutes ago"}',
].join("\n");

export const DOCKER_STATS = [
    '{"BlockIO":"1.2MB / 4.1kB","CPUPerc":"0.35%","Container":"4c1f0e6b2a7d9e8f00112233445566778899aabbccddeeff0011223344556677","ID":"4c1f0e6b2a7d9e8f00112233445566778899aabbccddeeff0011223344556677","MemPerc":"4.58%","MemUsage":"2.934MiB / 64MiB","Name":"matrix-simplewebapp1-node1-3f2a9c1b","NetIO":"15.3kB / 9.87kB","PIDs":"5"}',
].join("\n");

export const DOCKER_IMAGES = '{"Containers":"N/A","CreatedAt":"2024-06-01 09:59:00 +0000 UTC","CreatedSince":"6 minutes ago","Digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","ID":"sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6","Repository":"manager.matrix:5000/simplewebapp1","SharedSize":"N/A","Size":"12.5MB","Tag":"<none>","UniqueSize":"N/A","VirtualSize":"12.5MB"}';

/** Varnish 7.1: VCLI_JSON_begin's [version, [command...], time, then the backends by "<vcl>.<name>". */
export const BACKEND_LIST = `[ 3, ["backend.list", "-j"], 1717236000.123,
{
  "matrix_4f2a1c.simplewebapp1__node1": {
    "type": "backend",
    "admin_health": "probe",
    "probe_message": [3, 3, "healthy"],
    "last_change": 1717235990.456
  },
  "matrix_4f2a1c.simplewebapp1__node2": {
    "type": "backend",
    "admin_health": "probe",
    "probe_message": [0, 3, "sick"],
    "last_change": 1717235999.001
  },
  "matrix_4f2a1c.simplewebapp2__node3": {
    "type": "backend",
    "admin_health": "sick",
    "probe_message": [3, 3, "healthy"],
    "last_change": 1717235999.001
  },
  "matrix_4f2a1c.dir_simplewebapp1": {
    "type": "round-robin",
    "admin_health": "probe",
    "probe_message": [1, 2, "healthy"],
    "last_change": 1717235999.001
  }
}
]
`;

export function varnishstat(clientReq: number, node1Req: number): string {
    return JSON.stringify({
        version: 1,
        timestamp: "2024-06-01T10:00:00",
        counters: {
            "MGT.uptime": { description: "Management process uptime", flag: "c", format: "d", value: 3600 },
            "MAIN.client_req": { description: "Good client requests received", flag: "c", format: "i", value: clientReq },
            "VBE.matrix_4f2a1c.simplewebapp1__node1.req": { description: "Backend requests sent", flag: "c", format: "i", value: node1Req },
            "VBE.matrix_4f2a1c.simplewebapp1__node2.req": { description: "Backend requests sent", flag: "c", format: "i", value: 7 },
        },
    }, null, 2);
}

export const HOST_FACTS = `cpus=2
load=0.52 0.31 0.20
mem_total_kb=8000000
mem_available_kb=6000000
disk_total_kb=100000000
disk_used_kb=25000000
docker=20.10.24+dfsg1
@@containers
${DOCKER_PS}
@@stats
${DOCKER_STATS}
`;

const host = (name: string, role: "manager" | "node", i: number) => ({
    name, role, address: `10.10.10.${role === "manager" ? 1 : 10 + i}`, fqdn: `${name}.matrix`, groups: role === "node" ? ["web"] : [], labels: {}, drain: false,
    ssh: { host: "127.0.0.1", port: 2200 + i, user: "root", keyFile: "/repo/.lab/e2e/id_ed25519", knownHostsFile: `/repo/.lab/e2e/known_hosts/${name}` },
});

export const OUTPUTS = {
    cloudInfo: { name: "matrix", domain: "matrix", mode: "lab", router: { container: "matrix-router" }, registry: { address: "manager.matrix:5000", pushAddress: "127.0.0.1:5000", username: "matrix" } },
    hosts: [host("manager", "manager", 0), host("node1", "node", 1), host("node2", "node", 2)],
    applications: {
        simplewebapp1: { urls: ["http://127.0.0.1:8080/simplewebapp1/"], image: "manager.matrix:5000/simplewebapp1@sha256:0123", version: "3f2a9c1b5d6e", replicas: [{ app: "simplewebapp1", node: "node1" }, { app: "simplewebapp1", node: "node2" }] },
    },
    registryPassword: "[secret]",
};
