// Scripts the remote commands run, executed by a real shell.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fileScripts } from "../../core/scripts";

/** Run a script with `sh -c` and 4 MiB on its stdin (far beyond a pipe's buffer): EPIPE unless it reads it all. */
const run = (script: string) => {
    const r = spawnSync("sh", ["-c", script], { input: "-----BEGIN CERTIFICATE-----\n".repeat(150_000), encoding: "utf8" });
    return { code: r.status, stdinError: (r.error as NodeJS.ErrnoException | undefined)?.code };
};

test("a remote file's delete reads all of its stdin before it exits (the command plugin sends the content again; unread, the session ends in EOF)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-scripts-"));
    try {
        const file = path.join(dir, "sub", "ca.crt");
        fs.mkdirSync(path.dirname(file));
        fs.writeFileSync(file, "x");
        expect(run(fileScripts(file, []).delete)).toEqual({ code: 0, stdinError: undefined });
        expect(fs.existsSync(file)).toBe(false);
        expect(fs.existsSync(path.dirname(file))).toBe(false);
        // The control: a script that exits without reading its stdin breaks the writer's pipe.
        expect(run("exit 0").stdinError).toBe("EPIPE");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
