import { knownHostsEntry, knownHostsPath, sshArgv, sshClientOptions } from "../../core/ssh";

const target = { host: "127.0.0.1", port: 2201, user: "root", keyFile: "/repo/.lab/dev/id_ed25519", knownHostsFile: "/repo/.lab/dev/known_hosts/node1" };

test("client options: the key file, no prompts, only the pinned host key", () => {
    expect(sshClientOptions(target.keyFile, target.knownHostsFile)).toEqual([
        "-i", "/repo/.lab/dev/id_ed25519", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/repo/.lab/dev/known_hosts/node1",
    ]);
});

test("known_hosts entries name a port other than 22", () => {
    expect(knownHostsEntry("127.0.0.1", 2201, "ssh-ed25519 AAAA\n")).toBe("[127.0.0.1]:2201 ssh-ed25519 AAAA");
    expect(knownHostsEntry("10.0.0.5", 22, "ssh-ed25519 AAAA")).toBe("10.0.0.5 ssh-ed25519 AAAA");
    expect(knownHostsPath("/repo", "dev", "node1")).toBe("/repo/.lab/dev/known_hosts/node1");
});

test("a remote command is one argument, each word shell-quoted, after --", () => {
    const args = sshArgv(target, { command: ["docker", "logs", "--since", "10m", "it's; rm -rf /"], connectTimeout: 5 });
    expect(args.slice(0, 8)).toEqual(sshClientOptions(target.keyFile, target.knownHostsFile));
    expect(args).toEqual(expect.arrayContaining(["-p", "2201", "-o", "ConnectTimeout=5", "-T", "root@127.0.0.1"]));
    expect(args.slice(-2)).toEqual(["--", "docker logs --since 10m 'it'\\''s; rm -rf /'"]);
});

test("interactive: a terminal and no command", () => {
    const args = sshArgv(target, { tty: true });
    expect(args).toContain("-t");
    expect(args[args.length - 1]).toBe("root@127.0.0.1");
});
