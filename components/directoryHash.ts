// The hash of a directory on this machine (not in core/: it reads files). Image tags and command
// triggers derive from it, so an unchanged directory never causes a rebuild or a re-run.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * Hash of a build context: every file's relative path, mode and bytes (a symlink: its target),
 * in sorted order. Everything counts, even what a .dockerignore would leave out: a change there
 * costs a rebuild that Docker's layer cache makes cheap, never a stale tag. `exclude`: relative
 * paths left out (build outputs placed in the context, which the hash of their sources covers).
 */
export function directoryHash(dir: string, exclude: readonly string[] = []): string {
    const h = createHash("sha256");
    const skip = new Set(exclude);
    const walk = (rel: string): void => {
        const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
        for (const e of entries) {
            const r = path.posix.join(rel, e.name);
            if (skip.has(r)) continue;
            const full = path.join(dir, r);
            if (e.isSymbolicLink()) h.update(`${r}\0l\0${fs.readlinkSync(full)}\0`);
            else if (e.isDirectory()) walk(r);
            else if (e.isFile()) {
                h.update(`${r}\0${fs.statSync(full).mode & 0o111 ? "x" : "-"}\0`);
                h.update(fs.readFileSync(full));
                h.update("\0");
            }
        }
    };
    walk("");
    return h.digest("hex").slice(0, 16);
}
