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
