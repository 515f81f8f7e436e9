// Shell scripts run by remote and local commands, rendered from templates/scripts/*.hbs.
// Values that could hold anything are shell-quoted with the `q` helper; secrets never enter a
// script: they go through stdin, so Pulumi never prints them as part of a command string.
import * as path from "path";
import { template } from "./templates";

export { shq } from "./templates";

export type ScriptName =
    | "write-file"
    | "remove-file"
    | "bootstrap-host"
    | "wait-port"
    | "htpasswd"
    | "signal-container"
    | "vcl-load"
    | "ship-image"
    | "lab-ssh-key"
    | "pick-port"
    | "wait-healthy"
    | "healthcheck"
    | "prune-images"
    | "registry-gc"
    | "tag-digest"
    | "key-file"
    | "host-key-scan"
    | "known-host"
    | "tls-ca"
    | "tls-leaf"
    | "cli-host-facts"
    | "cli-router-sample"
    | "tenant-routes"
    | "instance-agent"
    | "instance-agent-start"
    | "build-binaries";

/** Values a script template takes: plain data only (a Pulumi Output here would render as text). */
export type ScriptVars = Record<string, string | number | boolean | readonly string[] | readonly Record<string, string>[]>;

export function renderScript(name: ScriptName, vars: ScriptVars): string {
    return template(`scripts/${name}.sh.hbs`)(vars);
}

/** create/delete scripts that install one file (content on stdin) and remove it again; private: readable by root only. */
export function fileScripts(file: string, removeAlso: string[] = [], options: { private?: boolean } = {}): { create: string; delete: string } {
    const dir = path.posix.dirname(file);
    return { create: renderScript("write-file", { dir, file, umask: options.private ? "077" : "022" }), delete: renderScript("remove-file", { dir, files: [file, ...removeAlso] }) };
}
