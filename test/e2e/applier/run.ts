#!/usr/bin/env ts-node
// Test applier CLI: run a Pulumi TypeScript program for real without the Pulumi CLI.
//
//   ts-node --transpile-only test/e2e/applier/run.ts up \
//       --program <dir>/index.ts --stack <name> --state <file.json> \
//       [--config <dir>/Pulumi.<stack>.yaml] [--set key=value ...] [--secret key=value ...] \
//       [--parallel N] [--remote-env sendenv|prefix] [--ssh-mode dial-stdio|forward] \
//       [--timeout SECONDS] [--verbose]
//   ts-node --transpile-only test/e2e/applier/run.ts destroy --state <file.json> [--verbose]
//
// Progress goes to stderr; the last stdout line is one JSON object:
//   {"created":n,"updated":n,"replaced":n,"deleted":n,"unchanged":n,"seconds":x,
//    "ok":true,"outputs":{...},"actions":[{"urn","type","name","action","seconds"}...]}
// Exit status 0 on success, 1 on any failure (state keeps whatever was applied), 2 on usage errors.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { SKIPPED_MARK, TestApplier } from "./applier";
import { dockerDefaults, findProjectFile, loadConfig } from "./config";

interface Args {
    cmd: "up" | "destroy";
    program?: string;
    stack?: string;
    state?: string;
    config?: string;
    set: string[];
    secret: string[];
    parallel: number;
    remoteEnv: "sendenv" | "prefix";
    sshMode: "dial-stdio" | "forward";
    timeout: number;
    verbose: boolean;
}

function usage(msg?: string): never {
    if (msg) process.stderr.write(`error: ${msg}\n`);
    process.stderr.write(
        "usage: run.ts up --program <index.ts> --stack <name> --state <file> [--config <Pulumi.<stack>.yaml>]\n" +
        "                 [--set key=value]... [--secret key=value]... [--parallel N]\n" +
        "                 [--remote-env sendenv|prefix] [--ssh-mode dial-stdio|forward] [--timeout S] [--verbose]\n" +
        "       run.ts destroy --state <file> [--verbose]\n",
    );
    process.exit(2);
}

export function parseArgs(argv: string[]): Args {
    const cmd = argv[0];
    if (cmd !== "up" && cmd !== "destroy") usage(`unknown command ${cmd ?? "(none)"}`);
    const a: Args = { cmd, set: [], secret: [], parallel: 0, remoteEnv: "sendenv", sshMode: "dial-stdio", timeout: 1800, verbose: false };
    for (let i = 1; i < argv.length; i++) {
        const k = argv[i];
        const val = () => {
            const v = argv[++i];
            if (v === undefined) usage(`${k} needs a value`);
            return v;
        };
        switch (k) {
            case "--program": a.program = val(); break;
            case "--stack": a.stack = val(); break;
            case "--state": a.state = val(); break;
            case "--config": a.config = val(); break;
            case "--set": a.set.push(val()); break;
            case "--secret": a.secret.push(val()); break;
            case "--parallel": a.parallel = Number(val()); break;
            case "--remote-env": {
                const v = val();
                if (v !== "sendenv" && v !== "prefix") usage("--remote-env is sendenv or prefix");
                a.remoteEnv = v;
                break;
            }
            case "--ssh-mode": {
                const v = val();
                if (v !== "dial-stdio" && v !== "forward") usage("--ssh-mode is dial-stdio or forward");
                a.sshMode = v;
                break;
            }
            case "--timeout": a.timeout = Number(val()); break;
            case "--verbose": a.verbose = true; break;
            default: usage(`unknown option ${k}`);
        }
    }
    if (!a.state) usage("--state is required");
    if (a.cmd === "up" && (!a.program || !a.stack)) usage("up needs --program and --stack");
    return a;
}

function errText(e: any): string {
    if (!e) return String(e);
    return e.message ?? String(e);
}

function print(obj: any) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

async function up(a: Args): Promise<number> {
    const programPath = path.resolve(a.program!);
    if (!fs.existsSync(programPath)) usage(`program ${programPath} does not exist`);
    const projectFile = findProjectFile(path.dirname(programPath));
    const projectDir = path.dirname(projectFile);
    const projectYaml = YAML.parse(fs.readFileSync(projectFile, "utf8")) ?? {};
    const project: string = projectYaml.name;
    if (!project) usage(`${projectFile} has no name`);
    const statePath = path.resolve(a.state!);
    const stackFile = a.config ? path.resolve(a.config) : undefined;
    const cfg = loadConfig({ project, projectYaml, stackFile, set: a.set, secret: a.secret });

    // The program runs with the project directory as its working directory, as under `pulumi up`.
    process.chdir(projectDir);
    const resolveFrom = (m: string) => require.resolve(m, { paths: [projectDir] });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pulumi = require(resolveFrom("@pulumi/pulumi"));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const settings = require(resolveFrom("@pulumi/pulumi/runtime/settings"));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const runtimeState = require(resolveFrom("@pulumi/pulumi/runtime/state"));

    const applier = new TestApplier({
        statePath,
        cwd: projectDir,
        project,
        stack: a.stack,
        parallel: a.parallel,
        remoteEnv: a.remoteEnv,
        sshMode: a.sshMode,
        dockerDefaults: dockerDefaults(cfg.config),
        verbose: a.verbose,
    });
    // Secret config values never show up in logs.
    applier.redactor.add(cfg.secretKeys.map((k) => cfg.config[k]));

    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            process.stderr.write(`applier: ${sig}: stopping (state keeps what was applied)\n`);
            applier.close();
            process.exit(130);
        });
    }

    const programErrors: string[] = [];
    const note = (m: string) => {
        const r = applier.redactor.redact(m);
        if (!programErrors.includes(r)) programErrors.push(r);
    };
    process.on("unhandledRejection", (e: any) => note(errText(e)));
    process.on("uncaughtException", (e: any) => note(errText(e)));
    const origLogError = pulumi.log.error;
    pulumi.log.error = (msg: string, ...rest: any[]) => {
        note(`log.error: ${msg}`);
        return origLogError.call(pulumi.log, applier.redactor.redact(String(msg)), ...rest);
    };

    if (process.env.APPLIER_DEBUG) {
        // Track the runtime's outstanding RPC keep-alives (what waitForRPCs waits for).
        const open = new Map<number, string>();
        let n = 0;
        const orig = settings.rpcKeepAlive;
        settings.rpcKeepAlive = () => {
            const id = ++n;
            open.set(id, (new Error().stack ?? "").split("\n").slice(2, 5).join(" | "));
            const done = orig();
            return () => { open.delete(id); done(); };
        };
        setInterval(() => process.stderr.write(`  [rpc] ${open.size} open: ${[...open.values()].slice(0, 3).join("\n    ")}\n`), 5000).unref();
    }
    pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
    await pulumi.runtime.setMocks(applier, project, a.stack, false);
    applier.attach(settings.getMonitor());

    const t0 = Date.now();
    process.stderr.write(`applier: up ${project}/${a.stack} (state ${statePath})\n`);
    let exported: any = undefined;
    try {
        let mod = require(programPath);
        if (typeof mod === "function") mod = await mod();
        else if (mod && typeof mod.then === "function") mod = await mod;
        exported = mod;
    } catch (e: any) {
        note(`program failed: ${e?.stack ?? errText(e)}`);
    }
    try {
        await applier.waitForIdle(settings.waitForRPCs, a.timeout * 1000, () => programErrors.length > 0);
    } catch (e: any) {
        note(errText(e));
    }

    const failed = () => applier.errors.length > 0 || programErrors.length > 0;
    let outputs: any = undefined;
    if (!failed()) {
        try {
            await applier.finish();
        } catch (e: any) {
            note(`deleting resources no longer declared: ${errText(e)}`);
        }
    }
    if (!failed()) {
        outputs = await stackOutputs(pulumi, exported).catch((e) => { note(`stack outputs: ${errText(e)}`); return undefined; });
    }
    applier.close();

    const summary: any = { ...applier.summary(), seconds: Math.round((Date.now() - t0) / 100) / 10 };
    if (failed()) {
        // Resource errors first; runtime echoes of the same error (unhandled rejections) after, once.
        const errors = [...applier.errors];
        for (const m of programErrors) {
            if (errors.some((x) => m.includes(x)) || m.includes(SKIPPED_MARK)) continue;
            errors.push(m);
        }
        for (const m of errors) process.stderr.write(`error: ${m}\n`);
        // The runtime's "promises were still active" notice only repeats the failure.
        try { runtimeState.getStore().leakCandidates = new Set(); } catch { /* older runtime */ }
        print({ ...summary, ok: false, errors, skipped: applier.skipped, actions: actionsOf(applier) });
        return 1;
    }
    print({ ...summary, ok: true, outputs: outputs ?? {}, actions: actionsOf(applier) });
    return 0;
}

function actionsOf(applier: TestApplier) {
    return applier.actions.map((x) => ({ urn: x.urn, type: x.type, name: x.name, action: x.action, seconds: x.seconds, ...(x.changed ? { changed: x.changed } : {}) }));
}

/** The program's exports, resolved; secret values are shown as "[secret]". */
async function stackOutputs(pulumi: any, exported: any): Promise<any> {
    if (!exported || typeof exported !== "object") return {};
    const out: any = {};
    for (const [k, v] of Object.entries(exported)) {
        if (k === "__esModule" || typeof v === "function") continue;
        const o = pulumi.output(v);
        const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`export ${k} did not resolve`)), 30_000).unref());
        const [value, secret] = (await Promise.race([Promise.all([o.promise(), o.isSecret]), timeout])) as [any, boolean];
        out[k] = secret ? "[secret]" : value;
    }
    return out;
}

async function destroy(a: Args): Promise<number> {
    const statePath = path.resolve(a.state!);
    if (!fs.existsSync(statePath)) {
        print({ created: 0, updated: 0, replaced: 0, deleted: 0, unchanged: 0, seconds: 0, ok: true, actions: [] });
        return 0;
    }
    const applier = new TestApplier({ statePath, verbose: a.verbose });
    process.stderr.write(`applier: destroy (state ${statePath})\n`);
    try {
        await applier.destroy();
    } catch (e: any) {
        const msg = applier.redactor.redact(errText(e));
        process.stderr.write(`error: ${msg}\n`);
        applier.close();
        print({ ...applier.summary(), ok: false, errors: [msg], actions: actionsOf(applier) });
        return 1;
    }
    applier.close();
    print({ ...applier.summary(), ok: true, actions: actionsOf(applier) });
    return 0;
}

if (require.main === module) {
    const a = parseArgs(process.argv.slice(2));
    (a.cmd === "up" ? up(a) : destroy(a)).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`error: ${e?.stack ?? e}\n`);
            process.exit(1);
        },
    );
}
