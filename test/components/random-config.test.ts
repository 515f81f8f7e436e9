// Property: for random valid configs, the program builds its resource graph under Pulumi mocks
// without an error, one container per replica.
import fc from "fast-check";
import { buildModel } from "../../core/config";
import { validConfig } from "../core/arbitrary-config";
import { configEnv } from "../core/fixtures";
import { numRuns } from "../suite";
import { runProgram } from "./harness";

describe("random valid configs: the resource graph (property, mocks)", () => {
    test("builds without an error", async () => {
        await fc.assert(
            fc.asyncProperty(validConfig, async (raw) => {
                const replicas = buildModel(raw, configEnv()).applications.reduce((n, a) => n + a.replicas.length, 0);
                // A secret nothing refers to would be an unknown key: only ssh mode gets the key.
                const run = await runProgram(raw, raw.mode === "ssh" ? { sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n" } : {});
                expect(run.error).toBeUndefined();
                expect(run.ofType("docker:index/container:Container").filter((r) => r.name.includes("@") && !r.name.startsWith("monitoring-"))).toHaveLength(replicas);
            }),
            // Each run is a fresh program process of a few seconds: 3 in the fast suite, 30 in the slow one.
            { numRuns: numRuns(3, 30) },
        );
    }, numRuns(120_000, 600_000));
});
