// Shared helpers of the stand-in plugins: secret unwrapping, redaction, deep equality,
// input validation against an explicit list of supported inputs, and process execution.
import { spawn } from "child_process";

/** Signature keys the Pulumi SDK uses in serialized property values. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
export const SIG_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e";
export const SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17";
export const SIG_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export class StandinError extends Error {}

/**
 * Replace secret wrappers ({SIG_KEY: SIG_SECRET, value}) with their values.
 * Returns the plain value, the top-level keys whose values were (or contained) secrets,
 * and every secret string (for log redaction). Resource references become their id
 * (custom resources) or URN; assets, archives and unknowns are rejected.
 */
export function unwrapSecrets(
    value: any,
    where: string,
): { plain: any; secretKeys: Set<string>; secretStrings: Set<string> } {
    const secretKeys = new Set<string>();
    const secretStrings = new Set<string>();
    const walk = (v: any, path: string[], inSecret: boolean): any => {
        if (v === UNKNOWN) {
            throw new StandinError(`${where}: input ${path.join(".") || "(root)"} is unknown (preview-only value)`);
        }
        if (typeof v === "string") {
            if (inSecret) collectSecretStrings(v, secretStrings);
            return v;
        }
        if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)], inSecret));
        if (v && typeof v === "object") {
            const sig = v[SIG_KEY];
            if (sig === SIG_SECRET) {
                if (path.length > 0) secretKeys.add(path[0]);
                return walk(v.value, path, true);
            }
            if (sig === SIG_RESOURCE_REF) {
                return v.id !== undefined && v.id !== "" ? v.id : v.urn;
            }
            if (sig === SIG_ASSET || sig === SIG_ARCHIVE) {
                throw new StandinError(`${where}: input ${path.join(".")} is an asset/archive, which the stand-in plugins does not implement`);
            }
            const out: any = {};
            for (const k of Object.keys(v)) out[k] = walk(v[k], [...path, k], inSecret);
            return out;
        }
        return v;
    };
    const plain = walk(value, [], false);
    return { plain, secretKeys, secretStrings };
}

function collectSecretStrings(s: string, into: Set<string>) {
    if (s.length >= 4) into.add(s);
    // Provider inputs arrive JSON-encoded (e.g. registryAuth); collect their leaves too.
    const t = s.trim();
    if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"))) {
        try {
            const walk = (x: any) => {
                if (typeof x === "string") { if (x.length >= 4) into.add(x); }
                else if (Array.isArray(x)) x.forEach(walk);
                else if (x && typeof x === "object") Object.values(x).forEach(walk);
            };
            walk(JSON.parse(t));
        } catch { /* not JSON */ }
    }
}

/** Wrap a value as a secret in the form the SDK deserializes into a secret Output. */
export function wrapSecret(v: any): any {
    return { [SIG_KEY]: SIG_SECRET, value: v };
}

/** Global registry of strings that must never be printed. */
export class Redactor {
    private secrets = new Set<string>();
    add(values: Iterable<string>) {
        for (const v of values) if (v && v.length >= 4) this.secrets.add(v);
    }
    redact(text: string): string {
        if (!text) return text;
        let out = text;
        // Longest first so that a secret containing another is replaced whole.
        const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
        for (const s of sorted) {
            if (out.includes(s)) out = out.split(s).join("[secret]");
            // Multi-line secrets (keys) also show up line by line.
            if (s.includes("\n")) {
                for (const line of s.split("\n")) {
                    if (line.trim().length >= 16 && out.includes(line)) out = out.split(line).join("[secret]");
                }
            }
        }
        return out;
    }
}

/** Structural equality of JSON-like values; undefined/null object members count as absent. */
export function deepEqual(a: any, b: any): boolean {
    if (a === b) return true;
    if (a === null || b === null || a === undefined || b === undefined) return isAbsent(a) && isAbsent(b);
    if (typeof a !== typeof b) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) {
        if (a.length !== b.length) return false;
        return a.every((x, i) => deepEqual(x, b[i]));
    }
    if (typeof a === "object") {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
        return true;
    }
    return false;
}

function isAbsent(v: any) {
    return v === undefined || v === null;
}

/** Keys whose values differ between two input bags (top level). */
export function changedKeys(a: Record<string, any>, b: Record<string, any>): string[] {
    const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
    return [...keys].filter((k) => !deepEqual(a?.[k], b?.[k])).sort();
}

/** Drop undefined/null members (recursively) so that state JSON stays comparable. */
export function clean(v: any): any {
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === "object") {
        const out: any = {};
        for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = clean(x);
        return out;
    }
    return v;
}

// ---------------------------------------------------------------------------------------------
// Input validation

/**
 * Schema of the inputs a stand-in implements for one resource type:
 *  - "string" | "number" | "boolean" | "any"  scalar kinds ("any" = any JSON value)
 *  - "map"           object of string values
 *  - [spec]          list of elements matching spec
 *  - { ... }         object with the listed members
 *  - { oneOf: [...] } a scalar restricted to listed values (e.g. rm must be false)
 */
export type Spec = "string" | "number" | "boolean" | "any" | "map" | Spec[] | { [k: string]: Spec } | { oneOf: any[] };

export function isEmpty(v: any): boolean {
    if (v === undefined || v === null || v === "") return true;
    if (Array.isArray(v)) return v.length === 0;
    if (typeof v === "object") return Object.keys(v).length === 0;
    return false;
}

/**
 * Throw when `inputs` holds a non-empty value the spec does not list, or a value of the
 * wrong kind. `false` counts as empty for booleans a stand-in does not implement only
 * when `falseIsEmpty` (all docker/command booleans default to false unless listed).
 */
export function validateInputs(type: string, name: string, inputs: any, spec: { [k: string]: Spec }) {
    const fail = (path: string, why: string) => {
        throw new StandinError(`${type} "${name}": input "${path}" ${why}`);
    };
    const check = (v: any, s: Spec, path: string) => {
        if (v === undefined || v === null) return;
        if (typeof s === "string") {
            switch (s) {
                case "any": return;
                case "string": if (typeof v !== "string") fail(path, `must be a string, got ${typeof v}`); return;
                case "number": if (typeof v !== "number") fail(path, `must be a number, got ${typeof v}`); return;
                case "boolean": if (typeof v !== "boolean") fail(path, `must be a boolean, got ${typeof v}`); return;
                case "map":
                    if (typeof v !== "object" || Array.isArray(v)) fail(path, "must be a map of strings");
                    for (const [k, x] of Object.entries(v)) if (typeof x !== "string") fail(`${path}.${k}`, "must be a string");
                    return;
            }
        }
        if (Array.isArray(s)) {
            if (!Array.isArray(v)) fail(path, "must be a list");
            v.forEach((x: any, i: number) => check(x, s[0], `${path}[${i}]`));
            return;
        }
        if (typeof s === "object" && "oneOf" in s && Array.isArray((s as any).oneOf)) {
            const allowed = (s as any).oneOf as any[];
            if (!allowed.some((a) => deepEqual(a, v))) {
                fail(path, `= ${JSON.stringify(v)} is not implemented by the stand-in plugins (supported: ${allowed.map((a) => JSON.stringify(a)).join(", ")})`);
            }
            return;
        }
        if (typeof v !== "object" || Array.isArray(v)) fail(path, "must be an object");
        const members = s as { [k: string]: Spec };
        for (const [k, x] of Object.entries(v)) {
            const p = path ? `${path}.${k}` : k;
            if (!(k in members)) {
                if (isEmpty(x) || x === false) continue;
                fail(p, "is not implemented by the stand-in plugins (remove it or extend toolchain/standin)");
            }
            check(x, members[k], p);
        }
    };
    check(inputs ?? {}, spec, "");
}

// ---------------------------------------------------------------------------------------------
// Process execution

export interface ExecResult {
    code: number;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

export interface ExecOptions {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    stdin?: string;
    timeoutMs?: number;
    /** Called with each complete output line (for progress logging). */
    onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

/** Environment for child processes: the parent's, minus the Pulumi program's config (holds secrets). */
export function childEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) {
        if (k.startsWith("PULUMI_CONFIG")) delete env[k];
    }
    for (const [k, v] of Object.entries(extra ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
    }
    return env;
}

export function exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        let child;
        try {
            child = spawn(argv[0], argv.slice(1), {
                cwd: opts.cwd,
                env: opts.env ?? childEnv(),
                stdio: ["pipe", "pipe", "pipe"],
            });
        } catch (e) {
            reject(e);
            return;
        }
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const lineBuf = { stdout: "", stderr: "" };
        const feed = (stream: "stdout" | "stderr", chunk: Buffer) => {
            if (!opts.onLine) return;
            lineBuf[stream] += chunk.toString("utf8");
            let i;
            while ((i = lineBuf[stream].indexOf("\n")) >= 0) {
                opts.onLine(stream, lineBuf[stream].slice(0, i));
                lineBuf[stream] = lineBuf[stream].slice(i + 1);
            }
        };
        child.stdout.on("data", (c: Buffer) => { out.push(c); feed("stdout", c); });
        child.stderr.on("data", (c: Buffer) => { err.push(c); feed("stderr", c); });
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) {
            timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
        }
        child.on("error", (e) => { if (timer) clearTimeout(timer); reject(e); });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            if (opts.onLine) {
                if (lineBuf.stdout) opts.onLine("stdout", lineBuf.stdout);
                if (lineBuf.stderr) opts.onLine("stderr", lineBuf.stderr);
            }
            resolve({
                code: code ?? -1,
                signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
        child.stdin.on("error", () => { /* child may exit before reading stdin */ });
        if (opts.stdin !== undefined && opts.stdin.length > 0) child.stdin.end(opts.stdin);
        else child.stdin.end();
    });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parse a Go duration ("1m30s", "500ms", "10s") into nanoseconds. */
export function parseGoDuration(s: string): number {
    if (s === "0") return 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
    const unit: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    let total = 0;
    let consumed = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s)) !== null) {
        if (m.index !== consumed) throw new StandinError(`invalid duration "${s}"`);
        total += parseFloat(m[1]) * unit[m[2]];
        consumed = m.index + m[0].length;
    }
    if (consumed !== s.length || consumed === 0) throw new StandinError(`invalid duration "${s}"`);
    return Math.round(total);
}

/** Quote a string for a POSIX shell. */
export function shQuote(s: string): string {
    if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(s)) return s;
    return `'${s.replace(/'/g, `'\\''`)}'`;
}
