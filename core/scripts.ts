// Shell scripts run by remote and local commands, rendered from templates/scripts/*.hbs.
// Every value is shell-quoted by the `q` helper; secrets never enter a script: they go
// through stdin, so Pulumi never prints them as part of a command string.
import Handlebars from "handlebars";
import * as fs from "fs";
import * as path from "path";

export const TEMPLATE_DIR = path.resolve(__dirname, "..", "templates");

/** POSIX shell single-quoting. */
export function shq(value: string | number): string {
    const s = String(value);
    return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const hb = Handlebars.create();
hb.registerHelper("q", (v: string | number) => shq(v));
hb.registerHelper("times", (a: number, b: number) => a * b);
const cache = new Map<string, Handlebars.TemplateDelegate>();

export type ScriptName =
    | "write-file"
    | "remove-file"
    | "bootstrap-host"
    | "wait-port"
    | "htpasswd"
    | "signal-container"
    | "vcl-load"
    | "ship-image"
    | "lab-ssh-key";

export function renderScript(name: ScriptName, vars: Record<string, unknown>): string {
    let t = cache.get(name);
    if (!t) {
        t = hb.compile(fs.readFileSync(path.join(TEMPLATE_DIR, "scripts", `${name}.sh.hbs`), "utf8"), { noEscape: true, strict: true });
        cache.set(name, t);
    }
    return t(vars);
}

/** create/delete scripts that install one file (content on stdin) and remove it again. */
export function fileScripts(file: string, umask = "022"): { create: string; delete: string } {
    const dir = path.posix.dirname(file);
    return { create: renderScript("write-file", { dir, file, umask }), delete: renderScript("remove-file", { dir, file }) };
}
