// TestApplier: pulumi.runtime.Mocks whose newResource really applies each resource
// (local/remote commands, docker networks, volumes, containers, images), with a JSON state
// file keyed by URN and engine-like semantics, simplified:
//  - same URN, equal inputs (and provider)  → unchanged, previous id/outputs returned;
//  - changed inputs                          → the type's diff: update in place or replace
//    (docker resources: delete first, then create; commands: update = `update` or `create`);
//  - new URN                                 → create;
//  - URNs not registered by the end          → deleted, dependents first (finish());
//  - destroy()                               → delete everything, dependents first, in parallel.
// Anything it does not implement (a type, an input, a resource option) fails loudly.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { localCommand, localRunInvoke, remoteCommand } from "./command";
import * as docker from "./docker";
import type { Action, ActionRecord, Handler, HandlerContext, RegistrationOptions, ResourceRequest, StateEntry, StateFile } from "./types";
import { ApplierError, Redactor, changedKeys, clean, deepEqual, unwrapSecrets, validateInputs, wrapSecret } from "./util";

type MockResourceArgs = pulumi.runtime.MockResourceArgs;
type MockResourceResult = pulumi.runtime.MockResourceResult;
type MockCallArgs = pulumi.runtime.MockCallArgs;

/** Resource types the applier implements, and how. */
export const HANDLERS: { [type: string]: Handler } = {
    "command:local:Command": localCommand,
    "command:remote:Command": remoteCommand,
    "pulumi:providers:docker": docker.dockerProvider,
    "docker:index/network:Network": docker.network,
    "docker:index/volume:Volume": docker.volume,
    "docker:index/container:Container": docker.container,
    "docker:index/image:Image": docker.image,
    "docker:index/remoteImage:RemoteImage": docker.remoteImage,
    "pulumi:providers:command": {
        spec: { version: "string" },
        diff: () => "update",
        async create() { return { id: `command-${Date.now()}`, outputs: {} }; },
        async update(_req, old) { return { id: old.id, outputs: {} }; },
        async delete() { /* nothing */ },
    },
};

export interface ApplierOptions {
    statePath: string;
    /** Directory the program runs in (relative paths in inputs resolve from here). Default: cwd. */
    cwd?: string;
    project?: string;
    stack?: string;
    /** Maximum resource operations at once (0 = unlimited, like `pulumi up`). */
    parallel?: number;
    remoteEnv?: "sendenv" | "prefix";
    sshMode?: "dial-stdio" | "forward";
    /** Configuration of the default docker provider (stack config `docker:*`). */
    dockerDefaults?: { host?: string; sshOpts?: any; registryAuth?: any };
    /** Progress/diagnostic output (default: stderr). */
    log?: (line: string) => void;
    verbose?: boolean;
}

interface PendingRequestInfo {
    parent: string;
    dependencies: string[];
    options: RegistrationOptions;
}

const EMPTY_OPTIONS: RegistrationOptions = {
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    retainOnDelete: false,
    additionalSecretOutputs: [],
};

function providerPackageVersion(pkg: string): string {
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        return require(`@pulumi/${pkg}/package.json`).version.replace(/\./g, "_");
    } catch {
        return "";
    }
}

class SkippedError extends ApplierError {}
export const SKIPPED_MARK = "not applied because an earlier step failed";

export class TestApplier implements pulumi.runtime.Mocks {
    readonly redactor = new Redactor();
    readonly actions: ActionRecord[] = [];
    readonly errors: string[] = [];
    /** Registrations not applied because an earlier step had failed. */
    readonly skipped: string[] = [];
    state: StateFile;
    private registered = new Set<string>();
    /** URNs deleted ahead of a delete-before-replace of something they depend on. */
    private replacedAway = new Set<string>();
    private pendingInfo: PendingRequestInfo | undefined;
    private inflight = new Map<Promise<unknown>, string>();
    private activity = 0;
    private running = 0;
    private queue: (() => void)[] = [];
    /** Docker endpoints by configuration. */
    private endpoints = new Map<string, { sig: string; ep: docker.DockerEndpoint }>();
    private providerInputs = new Map<string, any>();
    private defaultProviderRegs = new Map<string, Promise<string>>();
    private readonly cwd: string;
    private readonly tmp: string;
    private readonly log: (line: string) => void;
    private readonly started = Date.now();

    constructor(readonly options: ApplierOptions) {
        this.cwd = options.cwd ?? process.cwd();
        this.log = (line) => (options.log ?? ((l: string) => process.stderr.write(l + "\n")))(this.redactor.redact(line));
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "applier-"));
        fs.chmodSync(this.tmp, 0o700);
        this.state = this.load();
    }

    // -----------------------------------------------------------------------------------------
    // State

    private load(): StateFile {
        if (fs.existsSync(this.options.statePath)) {
            const s = JSON.parse(fs.readFileSync(this.options.statePath, "utf8")) as StateFile;
            if (s.version !== 1) throw new ApplierError(`unknown state file version in ${this.options.statePath}`);
            for (const e of Object.values(s.resources)) this.redactSecretsOf(e);
            return s;
        }
        return { version: 1, project: this.options.project, stack: this.options.stack, seq: 0, resources: {} };
    }

    private redactSecretsOf(e: StateEntry) {
        const strings = new Set<string>();
        const walk = (v: any) => {
            if (typeof v === "string") strings.add(v);
            else if (Array.isArray(v)) v.forEach(walk);
            else if (v && typeof v === "object") Object.values(v).forEach(walk);
        };
        for (const k of e.secretKeys ?? []) { walk(e.inputs?.[k]); walk(e.outputs?.[k]); }
        // A JSON-encoded secret (provider registryAuth) redacts its members too.
        const expanded = new Set<string>();
        for (const s of strings) {
            unwrapSecrets(wrapSecret(s), "state").secretStrings.forEach((x) => expanded.add(x));
        }
        this.redactor.add(expanded);
    }

    save() {
        const dir = path.dirname(path.resolve(this.options.statePath));
        fs.mkdirSync(dir, { recursive: true });
        const tmp = `${this.options.statePath}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + "\n", { mode: 0o600 });
        fs.renameSync(tmp, this.options.statePath);
    }

    // -----------------------------------------------------------------------------------------
    // Hooking the mock monitor for the request details Mocks do not get (parent, options, deps)

    /**
     * Wrap the MockMonitor's registerResource so that newResource also sees the request's
     * parent (for the real URN), dependencies and resource options. Call after setMocks.
     */
    attach(monitor: any) {
        if (!monitor || typeof monitor.registerResource !== "function") {
            throw new ApplierError("attach: not a mock monitor (call pulumi.runtime.setMocks first)");
        }
        const orig = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, cb: any) => {
            this.pendingInfo = {
                parent: req.getParent(),
                dependencies: req.getDependenciesList(),
                options: {
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    ignoreChanges: req.getIgnorechangesList(),
                    retainOnDelete: req.hasRetainondelete?.() ? req.getRetainondelete() : false,
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                },
            };
            const unsupported: string[] = [];
            if (req.getProtect?.()) unsupported.push("protect");
            if (req.getDeletedwith?.()) unsupported.push("deletedWith");
            if (req.getReplacewithList?.()?.length) unsupported.push("replaceWith");
            if (req.getAliasspecsList?.()?.length && req.getType() !== "docker:index/image:Image") {
                // The docker Image SDK adds an alias of its own; aliases do not matter without history.
            }
            if (req.getImportid()) unsupported.push("import");
            if (unsupported.length) {
                this.pendingInfo = undefined;
                const msg = `${req.getType()} "${req.getName()}": resource option(s) ${unsupported.join(", ")} not implemented by the test applier`;
                this.errors.push(msg);
                cb(new ApplierError(msg), undefined);
                return Promise.resolve();
            }
            try {
                return orig(req, cb);
            } finally {
                this.pendingInfo = undefined;
            }
        };
        const origRead = monitor.readResource.bind(monitor);
        monitor.readResource = (req: any, cb: any) => {
            const msg = `${req.getType()} "${req.getName()}": reading existing resources (.get) is not implemented by the test applier`;
            this.errors.push(msg);
            cb(new ApplierError(msg), undefined);
            void origRead;
            return Promise.resolve();
        };
    }

    urnOf(parent: string, type: string, name: string): string {
        if (parent) {
            const qualifiedType = parent.split("::")[2];
            const parentType = qualifiedType.split("$").pop();
            type = parentType + "$" + type;
        }
        return `urn:pulumi:${this.options.stack ?? "stack"}::${this.options.project ?? "project"}::${type}::${name}`;
    }

    // -----------------------------------------------------------------------------------------
    // Mocks

    newResource(args: MockResourceArgs): Promise<MockResourceResult> {
        const info = this.pendingInfo;
        this.pendingInfo = undefined;
        const label = `${args.type} "${args.name}"`;
        const p = this.track(label, () => this.register(args, info));
        return p;
    }

    call(args: MockCallArgs): Promise<Record<string, any>> {
        return this.track(`invoke ${args.token}`, async () => {
            const { plain, secretStrings } = unwrapSecrets(args.inputs, `invoke ${args.token}`);
            this.redactor.add(secretStrings);
            if (args.token === "command:local:run") return localRunInvoke(clean(plain), this.ctx());
            throw new ApplierError(`invoke ${args.token} is not implemented by the test applier`);
        });
    }

    private track<T>(label: string, fn: () => Promise<T>): Promise<T> {
        this.activity++;
        const p = (async () => {
            try {
                return await fn();
            } catch (e: any) {
                if (e instanceof SkippedError) throw e;
                let msg = this.redactor.redact(e?.message ?? String(e));
                if (!msg.startsWith(label)) msg = `${label}: ${msg}`;
                if (!this.errors.includes(msg)) this.errors.push(msg);
                this.log(`! ${msg}`);
                throw new ApplierError(msg);
            }
        })();
        this.inflight.set(p, label);
        const done = () => { this.inflight.delete(p); this.activity++; };
        p.then(done, done);
        return p;
    }

    private async limit<T>(fn: () => Promise<T>): Promise<T> {
        const max = this.options.parallel ?? 0;
        if (max > 0) {
            while (this.running >= max) await new Promise<void>((r) => this.queue.push(r));
        }
        this.running++;
        try {
            return await fn();
        } finally {
            this.running--;
            this.queue.shift()?.();
        }
    }

    private ctx(): HandlerContext {
        return {
            log: (l) => this.log(l),
            redactor: this.redactor,
            cwd: this.cwd,
            remoteEnv: this.options.remoteEnv ?? "sendenv",
            docker: (key) => this.dockerEndpoint(key),
            tmpDir: this.tmp,
        };
    }

    private async register(args: MockResourceArgs, info: PendingRequestInfo | undefined): Promise<MockResourceResult> {
        if (this.errors.length > 0) {
            // Like the engine: after a failed step, no new steps start.
            this.skipped.push(`${args.type} "${args.name}"`);
            throw new SkippedError(`${args.type} "${args.name}": ${SKIPPED_MARK}`);
        }
        if (args.id) {
            throw new ApplierError(`${args.type} "${args.name}": importing/reading existing resources is not implemented by the test applier`);
        }
        const urn = this.urnOf(info?.parent ?? "", args.type, args.name);
        const where = `${args.type} "${args.name}"`;
        if (!args.custom) {
            // Component resources have no provider operations; kept for the order of deletes.
            this.registered.add(urn);
            (this.state.components ??= {})[urn] = { ...(info?.parent ? { parent: info.parent } : {}), dependencies: info?.dependencies ?? [] };
            this.save();
            return { id: undefined, state: args.inputs ?? {} };
        }
        const handler = HANDLERS[args.type];
        if (!handler) {
            throw new ApplierError(`${where}: resource type ${args.type} is not implemented by the test applier`);
        }
        const { plain, secretKeys, secretStrings } = unwrapSecrets(args.inputs ?? {}, where);
        this.redactor.add(secretStrings);
        const options = info?.options ?? EMPTY_OPTIONS;
        for (const ic of options.ignoreChanges) {
            if (/[.[\]]/.test(ic)) throw new ApplierError(`${where}: ignoreChanges path "${ic}" (nested) is not implemented by the test applier`);
        }
        const req: ResourceRequest = {
            urn,
            type: args.type,
            name: args.name,
            custom: true,
            inputs: clean(plain),
            secretKeys: [...secretKeys],
            providerRef: args.provider ?? "",
            parent: info?.parent ?? "",
            dependencies: info?.dependencies ?? [],
            options,
        };
        validateInputs(args.type, args.name, req.inputs, handler.spec);
        handler.validate?.(req);
        if (this.registered.has(urn)) throw new ApplierError(`${where}: duplicate resource URN ${urn}`);
        this.registered.add(urn);
        if (args.type.startsWith("pulumi:providers:")) this.providerInputs.set(urn, req.inputs);
        if (handler.providerPackage && !req.providerRef) {
            req.providerRef = await this.defaultProvider(handler.providerPackage);
        }
        const entry = await this.limit(() => {
            if (this.errors.length > 0) throw new SkippedError(`${args.type} "${args.name}": ${SKIPPED_MARK}`);
            return this.apply(handler, req);
        });
        return { id: entry.id, state: this.programOutputs(entry, options) };
    }

    /** Outputs as the program sees them: secret where the inputs were secret. */
    private programOutputs(entry: StateEntry, options: RegistrationOptions): any {
        const out: any = { ...(entry.outputs ?? {}) };
        const secret = new Set([...(entry.secretKeys ?? []), ...options.additionalSecretOutputs]);
        if (entry.type.startsWith("command:") && (entry.secretKeys ?? []).length > 0) {
            // Every command output depends on every input.
            secret.add("stdout");
            secret.add("stderr");
        }
        for (const k of secret) if (k in out) out[k] = wrapSecret(out[k]);
        return out;
    }

    // -----------------------------------------------------------------------------------------
    // Default providers (what the engine creates for resources without an explicit provider)

    private defaultProvider(pkg: string): Promise<string> {
        let p = this.defaultProviderRegs.get(pkg);
        if (!p) {
            p = (async () => {
                if (pkg !== "docker") throw new ApplierError(`default provider for ${pkg} is not implemented`);
                const version = providerPackageVersion(pkg);
                const name = version ? `default_${version}` : "default";
                const urn = this.urnOf("", `pulumi:providers:${pkg}`, name);
                const d = this.options.dockerDefaults ?? {};
                // Like the provider: host from config, else DOCKER_HOST, else the local socket.
                const inputs = clean({
                    host: d.host ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock",
                    sshOpts: d.sshOpts,
                    registryAuth: d.registryAuth,
                });
                const req: ResourceRequest = {
                    urn, type: `pulumi:providers:${pkg}`, name, custom: true, inputs,
                    secretKeys: d.registryAuth ? ["registryAuth"] : [],
                    providerRef: "", parent: "", dependencies: [], options: EMPTY_OPTIONS,
                };
                docker.parseProviderConfig(inputs, `default docker provider`);
                this.registered.add(urn);
                this.providerInputs.set(urn, inputs);
                const entry = await this.apply(HANDLERS[req.type], req, true);
                return `${urn}::${entry.id}`;
            })();
            this.defaultProviderRegs.set(pkg, p);
        }
        return p;
    }

    /**
     * The docker endpoint for a provider reference "urn::id" (the configuration that provider
     * had, even if it was replaced since), or for provider inputs (the daemon check).
     */
    private async dockerEndpoint(refOrInputs: string | object): Promise<docker.DockerEndpoint> {
        let inputs: any;
        let key: string;
        if (typeof refOrInputs === "string") {
            key = refOrInputs;
            const i = key.lastIndexOf("::");
            const urn = key.slice(0, i);
            const id = key.slice(i + 2);
            const current = this.state.resources[urn];
            if (this.state.retiredProviders?.[key]) inputs = this.state.retiredProviders[key];
            else if (current && current.id === id) inputs = this.providerInputs.get(urn) ?? current.inputs;
            if (!inputs) throw new ApplierError(`no configuration for docker provider ${key}`);
        } else {
            inputs = refOrInputs;
            key = `inputs:${JSON.stringify(inputs)}`;
        }
        const cfg = docker.parseProviderConfig(inputs, key.split("::").slice(-2).join("::"));
        const sig = JSON.stringify(cfg);
        // Endpoints with the same configuration are shared.
        let e = this.endpoints.get(sig);
        if (!e) {
            const dir = path.join(this.tmp, `docker-${this.endpoints.size + 1}`);
            e = { sig, ep: new docker.DockerEndpoint(key, cfg, dir, (l) => this.log(l), this.options.sshMode ?? "dial-stdio") };
            this.endpoints.set(sig, e);
        }
        await e.ep.open();
        return e.ep;
    }

    // -----------------------------------------------------------------------------------------
    // Applying one resource

    private record(entry: { urn: string; type: string; name: string }, action: Action, t0: number, changed?: string[], quiet = false) {
        const seconds = Math.round((Date.now() - t0) / 100) / 10;
        this.actions.push({ urn: entry.urn, type: entry.type, name: entry.name, action, seconds, ...(changed ? { changed } : {}), ...(quiet ? { synthetic: true } : {}) } as ActionRecord);
        const sym = { created: "+", updated: "~", replaced: "+-", deleted: "-", unchanged: "=" }[action];
        if (action !== "unchanged" || this.options.verbose) {
            const extra = changed && changed.length ? ` [${changed.join(", ")}]` : "";
            this.log(`${sym} ${entry.type} ${entry.name} (${seconds}s)${extra}`);
        }
    }

    private providerKeyOf(req: ResourceRequest): string | undefined {
        return req.providerRef || undefined;
    }

    private async apply(handler: Handler, req: ResourceRequest, synthetic = false): Promise<StateEntry> {
        const t0 = Date.now();
        const providerKey = this.providerKeyOf(req);
        const ctx = this.ctx();
        const old = this.state.resources[req.urn];
        let inputs = handler.prepareInputs ? handler.prepareInputs(req, this.cwd) : req.inputs;
        if (old) {
            for (const k of req.options.ignoreChanges) {
                if (k in (old.inputs ?? {})) inputs = { ...inputs, [k]: old.inputs[k] };
                else { inputs = { ...inputs }; delete inputs[k]; }
            }
        }
        const prepared: ResourceRequest = { ...req, inputs };
        const comparable = (x: any) => (handler.comparable ? handler.comparable(x ?? {}) : x ?? {});

        const doCreate = async (): Promise<StateEntry> => {
            try {
                const r = await handler.create(prepared, ctx, providerKey ?? "");
                return this.store(prepared, r.id, r.outputs, providerKey);
            } catch (e: any) {
                if (e instanceof docker.PartialCreateError) {
                    // Keep what exists so that destroy can remove it.
                    this.store(prepared, e.partial.id, e.partial.outputs, providerKey);
                }
                throw e;
            }
        };

        if (!old) {
            const entry = await doCreate();
            const wasReplaced = this.replacedAway.delete(req.urn);
            this.record(req, wasReplaced ? "replaced" : "created", t0, undefined, synthetic);
            return entry;
        }

        const changed = changedKeys(comparable(old.inputs), comparable(inputs));
        const providerChanged = !!handler.providerPackage && old.providerRef !== req.providerRef;
        if (changed.length === 0 && !providerChanged) {
            // Unchanged: keep the old entry, but remember the latest options.
            old.dependencies = req.dependencies;
            old.deleteBeforeReplace = req.options.deleteBeforeReplace || undefined;
            old.retainOnDelete = req.options.retainOnDelete || undefined;
            this.save();
            this.record(req, "unchanged", t0, undefined, synthetic);
            return old;
        }
        const rocKeys = req.options.replaceOnChanges.map((p) => p.split(/[.[]/)[0]);
        const replace =
            providerChanged ||
            changed.some((k) => rocKeys.includes(k) || rocKeys.includes("*")) ||
            handler.diff(changed, old, prepared) === "replace";
        const shown = providerChanged ? [...changed, "(provider)"] : changed;

        if (!replace) {
            if (!handler.update) throw new ApplierError(`${req.type} "${req.name}": update is not implemented`);
            const r = await handler.update(prepared, old, ctx, providerKey ?? "");
            const entry = this.store(prepared, r.id, r.outputs, providerKey, old.seq);
            this.record(req, "updated", t0, shown, synthetic);
            return entry;
        }

        const dbr = req.options.deleteBeforeReplace || !!handler.deleteBeforeReplace;
        if (dbr) {
            await this.deleteDependentsFirst(req.urn);
            await this.deleteEntry(old, ctx);
            delete this.state.resources[req.urn];
            this.save();
            await doCreate();
        } else {
            if (req.type.startsWith("pulumi:providers:")) {
                // Resources of the old provider are deleted through its old configuration.
                (this.state.retiredProviders ??= {})[`${old.urn}::${old.id}`] = old.inputs;
            }
            await doCreate();
            await this.deleteEntry(old, ctx);
            this.save();
        }
        this.record(req, "replaced", t0, shown, synthetic);
        return this.state.resources[req.urn];
    }

    private store(req: ResourceRequest, id: string, outputs: any, providerKey: string | undefined, seq?: number): StateEntry {
        const entry: StateEntry = {
            urn: req.urn,
            type: req.type,
            name: req.name,
            id,
            inputs: req.inputs,
            outputs: clean({ ...req.inputs, ...outputs }),
            secretKeys: req.secretKeys,
            providerRef: req.providerRef,
            ...(providerKey ? { providerKey } : {}),
            seq: seq ?? ++this.state.seq,
            ...(req.parent ? { parent: req.parent } : {}),
            dependencies: req.dependencies,
            ...(req.options.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
            ...(req.options.retainOnDelete ? { retainOnDelete: true } : {}),
        };
        this.state.resources[req.urn] = entry;
        this.save();
        return entry;
    }

    /**
     * Before a delete-before-replace, delete the not-yet-registered docker resources that depend
     * on it (the engine replaces such dependents too: their inputs refer to the old resource).
     */
    private async deleteDependentsFirst(urn: string) {
        const victims = new Set<string>();
        let grew = true;
        while (grew) {
            grew = false;
            for (const e of Object.values(this.state.resources)) {
                if (victims.has(e.urn) || this.registered.has(e.urn) || e.urn === urn) continue;
                const h = HANDLERS[e.type];
                if (!h?.deleteBeforeReplace) continue;
                const deps = e.dependencies ?? [];
                if (deps.includes(urn) || deps.some((d) => victims.has(d))) { victims.add(e.urn); grew = true; }
            }
        }
        const ordered = [...victims].map((u) => this.state.resources[u]).sort((a, b) => b.seq - a.seq);
        for (const e of ordered) {
            const t0 = Date.now();
            await this.deleteEntry(e, this.ctx());
            delete this.state.resources[e.urn];
            this.replacedAway.add(e.urn);
            this.save();
            this.log(`- ${e.type} ${e.name} (${Math.round((Date.now() - t0) / 100) / 10}s) [replaced with ${urn.split("::").pop()}]`);
        }
    }

    private async deleteEntry(e: StateEntry, ctx: HandlerContext) {
        if (e.retainOnDelete) return;
        const h = HANDLERS[e.type];
        if (!h) throw new ApplierError(`cannot delete ${e.urn}: type ${e.type} is not implemented`);
        await h.delete(e, ctx);
    }

    // -----------------------------------------------------------------------------------------
    // End of a run

    /**
     * Resolve once the program and every registration have completed: the runtime's RPC queue
     * is drained (waitForRPCs), no newResource/call is in flight, and nothing new started for
     * a few event-loop turns (apply callbacks may register resources late).
     * After a failure the runtime may keep registrations of dependents pending forever (the
     * engine would have stopped): then it is enough that nothing is in flight for a second.
     */
    async waitForIdle(waitForRPCs: () => Promise<void>, timeoutMs = 30 * 60_000, otherErrors: () => boolean = () => false): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        const failed = () => this.errors.length > 0 || otherErrors();
        let stable = 0;
        while (stable < 3) {
            const before = this.activity;
            let rpcsDone = false;
            waitForRPCs().then(() => { rpcsDone = true; }, () => { rpcsDone = true; });
            let quietSince = Date.now();
            let lastActivity = this.activity;
            while (!rpcsDone) {
                await new Promise((r) => setTimeout(r, 25));
                if (this.activity !== lastActivity || this.inflight.size > 0) {
                    lastActivity = this.activity;
                    quietSince = Date.now();
                }
                if (failed() && this.inflight.size === 0 && Date.now() - quietSince >= 1000) return;
                if (Date.now() > deadline) {
                    throw new ApplierError(`program did not finish within ${timeoutMs / 1000} s; in flight: ` +
                        `${[...this.inflight.values()].join(", ") || "(none: the program waits on something else)"}`);
                }
            }
            await Promise.allSettled([...this.inflight.keys()]);
            await new Promise((r) => setImmediate(r));
            await new Promise((r) => setTimeout(r, 20));
            if (this.activity === before && this.inflight.size === 0) stable++;
            else stable = 0;
        }
    }

    /** Delete what the program no longer declares (dependents first). Call after waitForIdle. */
    async finish(): Promise<void> {
        for (const urn of this.replacedAway) {
            // Deleted ahead of a replacement but not declared again: that was a delete.
            this.actions.push({ urn, type: urn.split("::")[2], name: urn.split("::")[3], action: "deleted", seconds: 0 });
        }
        this.replacedAway.clear();
        const orphans = Object.values(this.state.resources).filter((e) => !this.registered.has(e.urn));
        await this.deleteAll(orphans);
        for (const urn of Object.keys(this.state.components ?? {})) if (!this.registered.has(urn)) delete this.state.components![urn];
        this.pruneRetiredProviders();
    }

    private pruneRetiredProviders() {
        if (!this.state.retiredProviders) return;
        const used = new Set(Object.values(this.state.resources).map((e) => e.providerKey));
        for (const ref of Object.keys(this.state.retiredProviders)) if (!used.has(ref)) delete this.state.retiredProviders[ref];
        if (Object.keys(this.state.retiredProviders).length === 0) delete this.state.retiredProviders;
        this.save();
    }

    /** Delete everything in the state (dependents first) and empty the state file. */
    async destroy(): Promise<void> {
        await this.deleteAll(Object.values(this.state.resources));
        this.state = { version: 1, project: this.state.project, stack: this.state.stack, seq: 0, resources: {} };
        this.save();
    }

    /**
     * Delete entries like the engine: in parallel, each only after everything that needs it is
     * gone. A resource needs its dependencies, its parent and its provider — through components
     * (which have nothing to delete) to the custom resources behind them.
     */
    private async deleteAll(entries: StateEntry[]) {
        const isProvider = (e: StateEntry) => e.type.startsWith("pulumi:providers:");
        const doomed = new Map(entries.map((e) => [e.urn, e]));
        const components = this.state.components ?? {};
        const needs = new Map<string, Set<string>>();
        for (const e of entries) {
            const out = new Set<string>();
            const seen = new Set<string>();
            const visit = (urn: string | undefined) => {
                if (!urn || seen.has(urn)) return;
                seen.add(urn);
                if (doomed.has(urn)) { if (urn !== e.urn) out.add(urn); return; }
                const c = components[urn];
                if (c) { visit(c.parent); c.dependencies.forEach(visit); }
            };
            [e.parent, ...(e.dependencies ?? []), e.providerKey?.slice(0, e.providerKey.lastIndexOf("::"))].forEach(visit);
            needs.set(e.urn, out);
        }
        const ctx = this.ctx();
        const deleted = new Set<string>();
        const running = new Map<string, Promise<void>>();
        const blocked = (urn: string) => [...needs.entries()].some(([u, n]) => !deleted.has(u) && u !== urn && n.has(urn));
        let failure: unknown;
        while (deleted.size < entries.length) {
            if (!failure) {
                for (const e of entries) {
                    if (deleted.has(e.urn) || running.has(e.urn) || blocked(e.urn)) continue;
                    running.set(e.urn, this.limit(async () => {
                        const t0 = Date.now();
                        await this.deleteEntry(e, ctx);
                        delete this.state.resources[e.urn];
                        this.save();
                        this.record(e, "deleted", t0, undefined, isProvider(e) && /::default(_[0-9_]+)?$/.test(e.urn));
                    }).then(
                        () => { deleted.add(e.urn); },
                        (err) => { failure ??= err; },
                    ).finally(() => running.delete(e.urn)));
                }
            }
            if (running.size === 0) {
                if (failure) throw failure;
                throw new ApplierError(`delete order has a cycle among: ${entries.filter((e) => !deleted.has(e.urn)).map((e) => e.urn).join(", ")}`);
            }
            await Promise.race(running.values());
        }
    }

    /** Counts per action (synthetic default providers are not counted). */
    summary() {
        const counts: Record<Action, number> = { created: 0, updated: 0, replaced: 0, deleted: 0, unchanged: 0 };
        for (const a of this.actions) if (!(a as any).synthetic) counts[a.action]++;
        return { ...counts, seconds: Math.round((Date.now() - this.started) / 100) / 10 };
    }

    /** Close SSH connections and remove temporary files. */
    close() {
        for (const { ep } of this.endpoints.values()) ep.close();
        this.endpoints.clear();
        fs.rmSync(this.tmp, { recursive: true, force: true });
    }
}

export { deepEqual };
