// Content hashes: image tags and command triggers derive from content, so an
// unchanged input never causes a rebuild or a re-run.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

export function sha256(text: string | Buffer): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Short stable hash of a text, for tags, VCL names and triggers. */
export function contentHash(text: string): string {
    return sha256(text).slice(0, 16);
}

/**
 * Hash of a build context: every file's relative path, mode and bytes, in sorted order,
 * skipping what `.dockerignore`-style tooling would never send (.git, node_modules).
 */
export function directoryHash(dir: string): string {
    const h = createHash("sha256");
    const walk = (rel: string): void => {
        const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
        for (const e of entries) {
            if (e.name === ".git" || e.name === "node_modules") continue;
            const r = path.posix.join(rel, e.name);
            const full = path.join(dir, r);
            if (e.isDirectory()) walk(r);
            else if (e.isFile() || e.isSymbolicLink()) {
                const st = fs.statSync(full);
                h.update(`${r}\0${st.mode & 0o111 ? "x" : "-"}\0`);
                h.update(fs.readFileSync(full));
                h.update("\0");
            }
        }
    };
    walk("");
    return h.digest("hex").slice(0, 16);
}
