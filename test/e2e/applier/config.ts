// Stack configuration for the test applier: Pulumi.<stack>.yaml (+ project defaults in
// Pulumi.yaml) → the flat map pulumi.runtime.setAllConfig expects.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ApplierError } from "./util";

export interface LoadedConfig {
    /** "namespace:key" → string value (structured values JSON-encoded, as the CLI passes them). */
    config: Record<string, string>;
    secretKeys: string[];
}

function fullKey(key: string, project: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

function containsSecure(v: any): boolean {
    if (Array.isArray(v)) return v.some(containsSecure);
    if (v && typeof v === "object") return "secure" in v && Object.keys(v).length === 1 ? true : Object.values(v).some(containsSecure);
    return false;
}

/** A config value as the Pulumi CLI hands it to the program: strings as is, the rest JSON. */
export function configValue(v: any): string {
    if (typeof v === "string") return v;
    if (v === null || v === undefined) return "";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
}

/** Parse KEY=VALUE from --set/--secret. */
export function parseAssignment(s: string): [string, string] {
    const i = s.indexOf("=");
    if (i <= 0) throw new ApplierError(`expected key=value, got "${s}"`);
    return [s.slice(0, i), s.slice(i + 1)];
}

export function findProjectFile(start: string): string {
    let dir = path.resolve(start);
    for (;;) {
        for (const n of ["Pulumi.yaml", "Pulumi.yml"]) {
            const f = path.join(dir, n);
            if (fs.existsSync(f)) return f;
        }
        const up = path.dirname(dir);
        if (up === dir) throw new ApplierError(`no Pulumi.yaml at or above ${start}`);
        dir = up;
    }
}

export function loadConfig(opts: {
    project: string;
    projectYaml?: any;
    stackFile?: string;
    set?: string[];
    secret?: string[];
}): LoadedConfig {
    const config: Record<string, string> = {};
    const secret = new Set<string>();
    const needsSecret: string[] = [];

    // Project-level defaults (Pulumi.yaml `config:`): `key: value` or `key: {default, secret}`.
    const projCfg = opts.projectYaml?.config ?? {};
    for (const [k, v] of Object.entries<any>(projCfg)) {
        const key = fullKey(k, opts.project);
        if (v && typeof v === "object" && !Array.isArray(v) && ("default" in v || "type" in v || "description" in v || "secret" in v || "value" in v)) {
            const d = "value" in v ? v.value : v.default;
            if (d !== undefined) config[key] = configValue(d);
            if (v.secret) secret.add(key);
        } else {
            config[key] = configValue(v);
        }
    }

    if (opts.stackFile) {
        const doc = YAML.parse(fs.readFileSync(opts.stackFile, "utf8")) ?? {};
        for (const [k, v] of Object.entries<any>(doc.config ?? {})) {
            const key = fullKey(k, opts.project);
            if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v) {
                needsSecret.push(key);
                continue;
            }
            if (containsSecure(v)) {
                throw new ApplierError(`config ${key} holds encrypted (secure) values the test applier cannot decrypt; pass the whole value with --secret ${key}=<json>`);
            }
            config[key] = configValue(v);
        }
    }

    for (const s of opts.set ?? []) {
        const [k, v] = parseAssignment(s);
        config[fullKey(k, opts.project)] = v;
    }
    for (const s of opts.secret ?? []) {
        const [k, v] = parseAssignment(s);
        const key = fullKey(k, opts.project);
        config[key] = v;
        secret.add(key);
    }
    const missing = needsSecret.filter((k) => !(k in config));
    if (missing.length) {
        throw new ApplierError(`config ${missing.join(", ")} is encrypted (secure:) in the stack file; the test applier cannot decrypt it: pass --secret KEY=VALUE`);
    }
    for (const k of needsSecret) secret.add(k);
    return { config, secretKeys: [...secret].filter((k) => k in config) };
}

/** `docker:*` stack config → default docker provider configuration; other docker keys are rejected. */
export function dockerDefaults(config: Record<string, string>): { host?: string; sshOpts?: any; registryAuth?: any } {
    const out: any = {};
    for (const [k, v] of Object.entries(config)) {
        if (!k.startsWith("docker:")) continue;
        const name = k.slice("docker:".length);
        if (name === "host") out.host = v;
        else if (name === "sshOpts") out.sshOpts = v;
        else if (name === "registryAuth") out.registryAuth = v;
        else throw new ApplierError(`config ${k} (default docker provider) is not implemented by the test applier`);
    }
    return out;
}
