// The monitor's own Go tests (parsers on real cAdvisor and Varnish output, ring buffer, HTTP API),
// run from the suite so CI runs them with everything else. Go is required (as for the toolchain).
import { spawnSync } from "child_process";
import * as path from "path";

jest.setTimeout(300_000);

test("go test ./... in monitor/ passes", () => {
    const r = spawnSync("go", ["test", "-count=1", "./..."], { cwd: path.join(__dirname, "..", "..", "monitor"), encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=readonly" } });
    if (r.error) throw new Error(`go test could not run (Go is needed: see scripts/build-cadvisor.sh): ${r.error.message}`);
    expect(`${r.stdout}${r.stderr}`).toMatch(/^ok\s+matrix\.local\/monitor/m);
    expect(r.status).toBe(0);
});
