// Property: every random config that passes validation renders without error (the VCL is also
// compiled by varnishd in test/varnish, the resource graph built in test/components).
import fc from "fast-check";
import { buildModel } from "../../core/config";
import { renderFiles, renderVcl } from "../../core/render";
import { validConfig } from "./arbitrary-config";
import { configEnv } from "./fixtures";
import { numRuns } from "../suite";

describe("random valid configs (property)", () => {
    test("pass validation, and every file renders", () => {
        fc.assert(
            fc.property(validConfig, (raw) => {
                const model = buildModel(raw, configEnv());
                expect(model.applications).toHaveLength(raw.applications.length);
                renderFiles(model);
                renderVcl(model);
            }),
            { numRuns: numRuns(300, 5000) },
        );
    }, numRuns(5_000, 120_000));
});
