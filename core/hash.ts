// Content hashes: image tags and command triggers derive from content, so an
// unchanged input never causes a rebuild or a re-run. Pure: a directory's hash, which reads
// files, is components/directoryHash.ts.
import { createHash } from "crypto";

export function sha256(text: string | Buffer): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Short stable hash of a text, for tags, VCL names and triggers. */
export function contentHash(text: string): string {
    return sha256(text).slice(0, 16);
}
