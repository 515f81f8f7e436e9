// The stand-in plugins (toolchain/standin) over the plugin protocol the engine speaks: started
// as the engine starts them, asked what the engine asks. Their resource operations are covered
// by the e2e suite; here: versions, input checks and update-versus-replace decisions.
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

/* eslint-disable @typescript-eslint/no-var-requires */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");

jest.setTimeout(60_000);
const ROOT = path.resolve(__dirname, "../..");

interface Plugin { child: ChildProcess; client: any; call: (method: string, req: any) => Promise<any> }

async function start(name: string): Promise<Plugin> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "toolchain/standin/main.ts"), name], { cwd: ROOT });
    const port: string = await new Promise((resolve, reject) => {
        child.stdout!.once("data", (d) => resolve(String(d).trim()));
        child.once("exit", (code) => reject(new Error(`plugin ${name} exited ${code}`)));
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (method: string, req: any) => new Promise<any>((resolve, reject) => client[method](req, (e: any, r: any) => (e ? reject(e) : resolve(r))));
    return { child, client, call };
}

const urn = (type: string, name: string) => `urn:pulumi:dev::matrix::${type}::${name}`;
const struct = (v: any) => structproto.Struct.fromJavaScript(v);

function diffRequest(type: string, olds: any, news: any) {
    const req = new provproto.DiffRequest();
    req.setUrn(urn(type, "x"));
    req.setId("id");
    req.setOlds(struct(olds));
    req.setOldInputs(struct(olds));
    req.setNews(struct(news));
    return req;
}

describe.each([
    ["docker", "@pulumi/docker"],
    ["command", "@pulumi/command"],
])("stand-in %s plugin", (name, sdk) => {
    let plugin: Plugin;
    beforeAll(async () => {
        plugin = await start(name);
    });
    afterAll(() => {
        plugin?.client.close();
        plugin?.child.kill();
    });

    test("answers with exactly the version its SDK requests", async () => {
        const info = await plugin.call("getPluginInfo", new emptyproto.Empty());
        expect(info.getVersion()).toBe(require(`${sdk}/package.json`).version);
    });
});

describe("stand-in decisions", () => {
    let docker: Plugin;
    let command: Plugin;
    beforeAll(async () => {
        [docker, command] = await Promise.all([start("docker"), start("command")]);
    });
    afterAll(() => {
        for (const p of [docker, command]) { p?.client.close(); p?.child.kill(); }
    });

    test("an input it does not implement fails the check, naming it", async () => {
        const req = new provproto.CheckRequest();
        req.setUrn(urn("docker:index/container:Container", "web"));
        req.setOlds(struct({}));
        req.setNews(struct({ name: "web", image: "nginx", gpus: "all" }));
        const resp = await docker.call("check", req);
        expect(resp.getFailuresList().map((f: any) => f.getReason())).toEqual([
            'docker:index/container:Container "web": input "gpus" is not implemented by the stand-in plugins (remove it or extend toolchain/standin)',
        ]);
    });

    test("containers: limits update in place, the image replaces (deleting the named container first)", async () => {
        const base = { name: "web", image: "a", memory: 64 };
        const update = await docker.call("diff", diffRequest("docker:index/container:Container", base, { ...base, memory: 128 }));
        expect([update.getDiffsList(), update.getReplacesList()]).toEqual([["memory"], []]);
        const replace = await docker.call("diff", diffRequest("docker:index/container:Container", base, { ...base, image: "b", memory: 128 }));
        expect([replace.getReplacesList(), replace.getDeletebeforereplace()]).toEqual([["image"], true]);
    });

    test("commands: a trigger change replaces, a script change updates", async () => {
        const base = { create: "echo 1", triggers: ["a"] };
        const trig = await command.call("diff", diffRequest("command:remote:Command", base, { ...base, triggers: ["b"] }));
        expect(trig.getReplacesList()).toEqual(["triggers"]);
        const script = await command.call("diff", diffRequest("command:remote:Command", base, { ...base, create: "echo 2" }));
        expect([script.getDiffsList(), script.getReplacesList()]).toEqual([["create"], []]);
    });
});

describe("remote command connections through a jump host (proxy)", () => {
    // The ssh client's own reading of the arguments (`ssh -G` resolves them without connecting).
    const { sshCommandArgs } = require("../../toolchain/standin/command");
    const { spawnSync } = require("child_process");
    test("the target is dialed through the proxy's sshd (-W), each hop with its own key and pinned host key", () => {
        const conn = { host: "10.10.10.11", port: 22, user: "root", proxy: { host: "203.0.113.5", port: 2201, user: "ops" } };
        const files = { keyFile: "/k/key", knownHostsFile: "/k/known_hosts", proxy: { keyFile: "/k/proxy-key", knownHostsFile: "/k/proxy-known_hosts" } };
        const args: string[] = sshCommandArgs(conn, files, [], "true");
        const at = args.indexOf("--");
        const r = spawnSync(args[0], ["-G", ...args.slice(1, at), args[at + 1]], { encoding: "utf8" });
        expect(r.status).toBe(0);
        const config = r.stdout;
        expect(config).toMatch(/^hostname 10\.10\.10\.11$/m);
        expect(config).toMatch(/^stricthostkeychecking true$/m);
        expect(config).toMatch(/^userknownhostsfile \/k\/known_hosts$/m);
        const proxy = /^proxycommand (.*)$/m.exec(config)![1];
        expect(proxy).toMatch(/^ssh -i \/k\/proxy-key .*-o StrictHostKeyChecking=yes -o UserKnownHostsFile=\/k\/proxy-known_hosts .*-p 2201 -W %h:%p ops@203\.0\.113\.5$/);
        // Without a proxy: no ProxyCommand at all.
        const direct = spawnSync("ssh", ["-G", ...sshCommandArgs({ host: "h" }, {}, [], "true").slice(1, -2), "h"], { encoding: "utf8" }).stdout;
        expect(direct).not.toMatch(/^proxycommand /m);
    });
});
