import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { directoryHash } from "../../components/directoryHash";

describe("directoryHash (image tags of build contexts)", () => {
    let dir: string;
    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-hash-"));
        write("Dockerfile", "FROM debian:bookworm-slim\n");
        write("src/app.sh", "echo hi\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("depends on content, names, modes and every directory, not on timestamps", () => {
        const h0 = directoryHash(dir);
        expect(h0).toMatch(/^[0-9a-f]{16}$/);
        fs.utimesSync(path.join(dir, "Dockerfile"), new Date(0), new Date(0));
        expect(directoryHash(dir)).toBe(h0);
        const changes: [string, () => void][] = [
            ["content", () => write("src/app.sh", "echo ho\n")],
            ["mode", () => fs.chmodSync(path.join(dir, "src/app.sh"), 0o755)],
            ["new file under node_modules", () => write("node_modules/x/index.js", "1")],
            ["rename", () => fs.renameSync(path.join(dir, "src"), path.join(dir, "lib"))],
        ];
        const seen = new Set([h0]);
        for (const [what, change] of changes) {
            change();
            const h = directoryHash(dir);
            expect([what, seen.has(h)]).toEqual([what, false]);
            seen.add(h);
        }
    });

    test("a symlink to a directory counts as its target, without reading through it", () => {
        fs.symlinkSync("src", path.join(dir, "link"));
        const h = directoryHash(dir);
        fs.unlinkSync(path.join(dir, "link"));
        fs.symlinkSync("elsewhere", path.join(dir, "link"));
        expect(directoryHash(dir)).not.toBe(h);
    });

    test("excluded paths (build outputs placed in the context) do not count", () => {
        const h = directoryHash(dir, ["bin/tool"]);
        write("bin/tool", "built");
        expect(directoryHash(dir, ["bin/tool"])).toBe(h);
        expect(directoryHash(dir)).not.toBe(h);
    });
});
