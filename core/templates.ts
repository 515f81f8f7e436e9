// The one loader of templates/*.hbs: strict (a missing variable is an error), no HTML escaping
// (nothing here is HTML; quoting is each template's job through the helpers below).
import Handlebars from "handlebars";
import * as fs from "fs";
import * as path from "path";

const TEMPLATE_DIR = path.resolve(__dirname, "..", "templates");

/** POSIX shell single-quoting. */
export function shq(value: string | number): string {
    const s = String(value);
    return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const hb = Handlebars.create();
/** JSON literal of a value: also a valid YAML double-quoted scalar. */
hb.registerHelper("json", (v: unknown) => JSON.stringify(v));
/** A shell word. */
hb.registerHelper("q", (v: string | number) => shq(v));
const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** The compiled template at templates/<file>. */
export function template(file: string): Handlebars.TemplateDelegate {
    let t = compiled.get(file);
    if (!t) {
        t = hb.compile(fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8"), { noEscape: true, strict: true });
        compiled.set(file, t);
    }
    return t;
}
