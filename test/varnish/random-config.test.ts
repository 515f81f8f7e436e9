// Property: the VCL of every random valid config compiles with the real varnishd (-C).
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildModel } from "../../core/config";
import { renderVcl } from "../../core/render";
import { validConfig } from "../core/arbitrary-config";
import { configEnv } from "../core/fixtures";
import { numRuns } from "../suite";
import { requireTool } from "./vtc";

describe("random valid configs: varnishd -C compiles the VCL (property)", () => {
    let varnishd: string;
    let tmp: string;
    beforeAll(() => {
        varnishd = requireTool("varnishd", "varnish");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "matrix-vclp-"));
        // Run as root, varnishd reads the VCL as its unprivileged user.
        fs.chmodSync(tmp, 0o755);
    });
    afterAll(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

    test("every rendered VCL compiles", () => {
        let n = 0;
        fc.assert(
            fc.property(validConfig, (raw) => {
                const vcl = renderVcl(buildModel(raw, configEnv()));
                const file = path.join(tmp, `r${++n}.vcl`);
                fs.writeFileSync(file, vcl, { mode: 0o644 });
                const r = spawnSync(varnishd, ["-C", "-n", path.join(tmp, `r${n}.d`), "-f", file], { encoding: "utf8", timeout: 60_000 });
                if (r.status !== 0) throw new Error(`varnishd -C rejected the VCL:\n${(r.stderr ?? "").split("\n").slice(-30).join("\n")}\n--- VCL ---\n${vcl}`);
            }),
            // Each compile takes a fraction of a second: 10 in the fast suite, 150 in the slow one.
            { numRuns: numRuns(10, 150) },
        );
    }, numRuns(120_000, 600_000));
});
