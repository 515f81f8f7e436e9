// The plugin side of a stand-in: a gRPC ResourceProvider server speaking the engine's real
// plugin protocol (the same one pulumi-resource-docker and pulumi-resource-command serve), so
// that the real Pulumi engine plans, orders, diffs, previews, refreshes and keeps the state;
// only the resource operations themselves are this project's code (see README, "Offline").
//
// The engine starts the plugin with its own address as argument and reads the port we print.
import * as grpc from "@grpc/grpc-js";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Handler, HandlerContext, ResourceRequest, StateEntry } from "./types";
import { Redactor, SIG_KEY, SIG_SECRET, StandinError, UNKNOWN, changedKeys, clean, unwrapSecrets, validateInputs } from "./util";

/* eslint-disable @typescript-eslint/no-var-requires */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const plugproto = require("@pulumi/pulumi/proto/plugin_pb");
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const engproto = require("@pulumi/pulumi/proto/engine_pb");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
const anyproto = require("google-protobuf/google/protobuf/any_pb");
const statusproto = require("@pulumi/pulumi/proto/status_pb");

export interface PluginDefinition {
    /** Package name ("docker"), for messages. */
    name: string;
    version: string;
    /** Handlers by type token ("docker:index/container:Container"). */
    handlers: { [type: string]: Handler };
    /** Called once with the provider's configuration (from Configure); returns the context's docker endpoint factory. */
    configure?(config: any, ctx: { log: (l: string) => void; tmpDir: string }): HandlerContext["docker"];
    /** Called when the engine shuts the plugin down. */
    close?(): void;
}

const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
const typeOf = (urn: string) => urn.split("::")[2]?.split("$").pop() ?? "";

/** Struct → plain JS, keeping the engine's secret wrappers and unknown markers. */
const js = (s: any) => (s ? s.toJavaScript() : {});

/** Unwrap secrets but keep unknowns (Check/Diff in preview see them). */
function plainKeepingUnknowns(v: any): any {
    if (Array.isArray(v)) return v.map(plainKeepingUnknowns);
    if (v && typeof v === "object") {
        if (v[SIG_KEY] === SIG_SECRET) return plainKeepingUnknowns(v.value);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainKeepingUnknowns(x)]));
    }
    return v;
}

function containsUnknown(v: any): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (v && typeof v === "object") return Object.values(v).some(containsUnknown);
    return false;
}

/** Outputs: the handler's, with every top-level key whose input was secret wrapped as secret again. */
function wrapOutputs(outputs: any, secretKeys: Set<string>): any {
    const out: any = {};
    for (const [k, v] of Object.entries(clean(outputs ?? {}))) out[k] = secretKeys.has(k) ? { [SIG_KEY]: SIG_SECRET, value: v } : v;
    return out;
}

export function serve(def: PluginDefinition) {
    const engineAddr = process.argv.slice(2).find((a) => !a.startsWith("-"));
    const engine = engineAddr ? new engrpc.EngineClient(engineAddr, grpc.credentials.createInsecure()) : undefined;
    const redactor = new Redactor();
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `standin-${def.name}-`));
    fs.chmodSync(tmpDir, 0o700);

    const log = (urn: string | undefined, line: string, severity: "INFO" | "WARNING" = "INFO") => {
        const text = redactor.redact(line);
        if (!engine) return void process.stderr.write(text + "\n");
        const req = new engproto.LogRequest();
        req.setSeverity(engproto.LogSeverity[severity]);
        req.setMessage(text);
        if (urn) req.setUrn(urn);
        engine.log(req, () => undefined);
    };
    let docker: HandlerContext["docker"] = () => Promise.reject(new StandinError(`${def.name}: not configured`));
    const ctxFor = (urn: string): HandlerContext => ({ log: (l) => log(urn, l), redactor, cwd: process.cwd(), docker: () => docker(), tmpDir });

    const handlerFor = (urn: string, type?: string): Handler => {
        const t = type || typeOf(urn);
        const h = def.handlers[t];
        if (!h) throw new StandinError(`${t}: not implemented by the stand-in ${def.name} plugin (toolchain/standin)`);
        return h;
    };
    /** Inputs unwrapped, the keys that were secret, and the secret strings learnt for redaction. */
    const unwrap = (props: any, where: string) => {
        const u = unwrapSecrets(props, where);
        redactor.add(u.secretStrings);
        return { inputs: clean(u.plain), secretKeys: u.secretKeys };
    };
    const request = (urn: string, inputs: any): ResourceRequest => ({ urn, type: typeOf(urn), name: nameOf(urn), inputs });
    const entryOf = (urn: string, id: string, outputs: any, oldInputs: any): StateEntry => ({
        urn, type: typeOf(urn), name: nameOf(urn), id, outputs, inputs: oldInputs && Object.keys(oldInputs).length ? oldInputs : outputs,
    });

    /** Wrap an async handler as a gRPC unary method; errors become gRPC errors (with init-failure details). */
    const unary = (fn: (req: any) => Promise<any>) => (call: any, callback: any) => {
        fn(call.request).then(
            (resp) => callback(null, resp),
            (e: any) => {
                const message = redactor.redact(e instanceof StandinError ? e.message : String(e?.stack ?? e));
                const partial = e?.partial as { id: string; outputs: any } | undefined;
                const metadata = new grpc.Metadata();
                if (partial?.id) {
                    // Created but failed to initialise: the engine records it (like the real providers).
                    const detail = new provproto.ErrorResourceInitFailed();
                    detail.setId(partial.id);
                    detail.setProperties(structproto.Struct.fromJavaScript(clean(partial.outputs)));
                    detail.setReasonsList([message]);
                    const any = new anyproto.Any();
                    any.pack(detail.serializeBinary(), "pulumirpc.ErrorResourceInitFailed");
                    const status = new statusproto.Status();
                    status.setCode(grpc.status.UNKNOWN);
                    status.setMessage(message);
                    status.addDetails(any);
                    metadata.add("grpc-status-details-bin", Buffer.from(status.serializeBinary()));
                }
                callback({ code: grpc.status.UNKNOWN, details: message, message, metadata });
            },
        );
    };

    const service = {
        getPluginInfo: unary(async () => {
            const info = new plugproto.PluginInfo();
            info.setVersion(def.version);
            return info;
        }),
        getSchema: unary(async () => {
            const resp = new provproto.GetSchemaResponse();
            resp.setSchema("{}");
            return resp;
        }),
        checkConfig: unary(async (req) => {
            const resp = new provproto.CheckResponse();
            resp.setInputs(req.getNews());
            return resp;
        }),
        diffConfig: unary(async (req) => {
            // Like the real docker provider: configuration changes never replace the provider.
            const changed = changedKeys(plainKeepingUnknowns(js(req.getOldInputs() ?? req.getOlds())), plainKeepingUnknowns(js(req.getNews())));
            const resp = new provproto.DiffResponse();
            resp.setChanges(changed.length ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
            resp.setDiffsList(changed);
            return resp;
        }),
        configure: unary(async (req) => {
            // Explicit providers send their inputs as `args`; default providers only `variables` ("pkg:config:key").
            const args = req.getArgs ? js(req.getArgs()) : {};
            const vars: any = {};
            req.getVariablesMap().forEach((v: string, k: string) => { vars[k.replace(/^[^:]+:config:/, "")] = v; });
            const config = unwrap(Object.keys(args).length ? args : vars, `${def.name} provider configuration`).inputs;
            if (def.configure) docker = def.configure(config, { log: (l) => log(undefined, l), tmpDir });
            const resp = new provproto.ConfigureResponse();
            resp.setAcceptsecrets(true);
            resp.setSupportspreview(false);
            resp.setAcceptresources(false);
            resp.setAcceptoutputs(false);
            return resp;
        }),
        check: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const news = js(req.getNews());
            const resp = new provproto.CheckResponse();
            const failures: { property: string; reason: string }[] = [];
            let checked = news;
            if (!containsUnknown(news)) {
                try {
                    const { inputs } = unwrap(news, urn);
                    validateInputs(typeOf(urn), nameOf(urn), inputs, h.spec);
                    h.validate?.(request(urn, inputs));
                    if (h.prepareInputs) {
                        // Re-wrap: prepareInputs only adds keys; secret members of the program's inputs stay as sent.
                        const prepared = h.prepareInputs(request(urn, inputs), process.cwd());
                        checked = { ...news, ...Object.fromEntries(Object.entries(prepared).filter(([k]) => !(k in news) || k === "build")) };
                    }
                } catch (e: any) {
                    failures.push({ property: "", reason: e.message });
                }
            }
            resp.setInputs(structproto.Struct.fromJavaScript(checked));
            resp.setFailuresList(failures.map((f) => {
                const cf = new provproto.CheckFailure();
                cf.setProperty(f.property);
                cf.setReason(f.reason);
                return cf;
            }));
            return resp;
        }),
        diff: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const comparable = (x: any) => (h.comparable ? h.comparable(x ?? {}) : x ?? {});
            const oldInputs = req.getOldInputs() ? js(req.getOldInputs()) : js(req.getOlds());
            const changed = changedKeys(comparable(clean(plainKeepingUnknowns(oldInputs))), comparable(clean(plainKeepingUnknowns(js(req.getNews())))));
            const resp = new provproto.DiffResponse();
            resp.setChanges(changed.length ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
            resp.setDiffsList(changed);
            if (changed.length && h.diff(changed) === "replace") {
                resp.setReplacesList(changed.filter((k) => h.diff([k]) === "replace"));
                resp.setDeletebeforereplace(!!h.deleteBeforeReplace);
            }
            return resp;
        }),
        create: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const { inputs, secretKeys } = unwrap(js(req.getProperties()), urn);
            const resp = new provproto.CreateResponse();
            if (req.getPreview()) {
                resp.setProperties(req.getProperties());
                return resp;
            }
            try {
                const r = await h.create(request(urn, inputs), ctxFor(urn));
                resp.setId(r.id);
                resp.setProperties(structproto.Struct.fromJavaScript(wrapOutputs(r.outputs, secretKeys)));
                return resp;
            } catch (e: any) {
                if (e?.partial) e.partial.outputs = wrapOutputs(e.partial.outputs, secretKeys);
                throw e;
            }
        }),
        read: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const resp = new provproto.ReadResponse();
            const props = js(req.getProperties());
            const oldInputs = js(req.getInputs());
            if (!h.read) {
                resp.setId(req.getId());
                resp.setProperties(req.getProperties());
                if (req.getInputs()) resp.setInputs(req.getInputs());
                return resp;
            }
            const { inputs: outputs } = unwrap(props, urn);
            const found = await h.read(entryOf(urn, req.getId(), outputs, unwrap(oldInputs, urn).inputs), ctxFor(urn));
            // An empty id tells the engine the resource is gone.
            resp.setId(found ? found.id : "");
            if (found) {
                resp.setProperties(req.getProperties());
                if (req.getInputs()) resp.setInputs(req.getInputs());
            }
            return resp;
        }),
        update: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const { inputs, secretKeys } = unwrap(js(req.getNews()), urn);
            const { inputs: olds } = unwrap(js(req.getOlds()), urn);
            const { inputs: oldInputs } = unwrap(js(req.getOldInputs()), urn);
            const resp = new provproto.UpdateResponse();
            if (req.getPreview()) {
                resp.setProperties(req.getNews());
                return resp;
            }
            const old = entryOf(urn, req.getId(), olds, oldInputs);
            const r = h.update ? await h.update(request(urn, inputs), old, ctxFor(urn)) : { id: old.id, outputs: { ...olds, ...inputs } };
            resp.setProperties(structproto.Struct.fromJavaScript(wrapOutputs(r.outputs, secretKeys)));
            return resp;
        }),
        delete: unary(async (req) => {
            const urn = req.getUrn();
            const h = handlerFor(urn, req.getType());
            const { inputs: outputs } = unwrap(js(req.getProperties()), urn);
            const { inputs: oldInputs } = unwrap(js(req.getOldInputs()), urn);
            await h.delete(entryOf(urn, req.getId(), outputs, oldInputs), ctxFor(urn));
            return new emptyproto.Empty();
        }),
        cancel: unary(async () => {
            def.close?.();
            return new emptyproto.Empty();
        }),
    };

    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(provrpc.ResourceProviderService, service as any);
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
            process.stderr.write(`stand-in ${def.name}: cannot listen: ${err.message}\n`);
            process.exit(1);
        }
        process.stdout.write(`${port}\n`);
    });
    const shutdown = () => {
        def.close?.();
        fs.rmSync(tmpDir, { recursive: true, force: true });
        process.exit(0);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
}
