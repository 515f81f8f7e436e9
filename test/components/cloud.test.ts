// Component wiring under pulumi mocks (nothing is applied; see harness.ts).
import { devConfig, Run, runProgram } from "./harness";

jest.setTimeout(60000);

describe("dev stack resource graph (mocks)", () => {
    let run: Run;
    beforeAll(async () => {
        run = await runProgram(devConfig());
    });

    test("has the expected components", () => {
        const types = new Set(run.resources.map((r) => r.type));
        for (const t of ["matrix:index:Cloud", "matrix:index:Lab", "matrix:index:Host", "matrix:index:Manager", "matrix:index:Registry", "matrix:index:Dns", "matrix:index:Router", "matrix:index:Application"]) expect(types).toContain(t);
        expect(run.ofType("matrix:index:Host").map((r) => r.name).sort()).toEqual(["manager", "node1", "node2", "node3"]);
    });

    test("prints", () => {
        console.log(run.resources.map((r) => `${r.type} ${r.name} parent=${r.parent.split("::").pop()} prov=${r.provider.split("::").slice(-1)[0]} secret=${r.secretInputs}`).join("\n"));
        console.log(JSON.stringify(run.outputs, null, 1));
    });
});
