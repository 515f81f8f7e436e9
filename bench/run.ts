// Benchmark of the dev stack on the local lab, applied by the real Pulumi engine (Automation
// API): prints one JSON object of measurements (no pass/fail). Needs what the end-to-end test
// needs (see README); takes about 5 minutes.
//
//   npm run bench
import * as os from "os";
import { labObjects, requireTools } from "../lab/driver/lab";
import { applyUnderLoad, nodeLoss, throughput } from "../lab/driver/scenario";
import { LabStack } from "../lab/driver/stack";

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function main() {
    requireTools();
    const leftovers = labObjects();
    if (leftovers.length) throw new Error(`the lab must start clean; remove first: ${leftovers.join(", ")}`);
    const lab = await LabStack.create();
    try {
        // The first deploy fills the image caches (lab host, services, apps); the second is the
        // measured cold deploy: every container, network, volume and file created from nothing.
        log("warm-up deploy (fills image caches)");
        const warm = await lab.up();
        log(`warm-up: ${warm.seconds} s; destroying`);
        const firstDestroy = await lab.destroy();
        log("cold deploy with images cached");
        const cold = await lab.up();
        const outputs = cold.outputs;
        log("preview with nothing to change");
        const idle = await lab.preview();

        const app = "simplewebapp1";
        const replica = outputs.applications[app].replicas[0];
        const viaRouter = `http://10.10.10.1:80/${app}/`;
        const viaPublished = `${outputs.routerUrl}${app}/`;
        const direct = `http://${replica.address}:${replica.hostPort}/${app}/`;
        log("throughput: direct, router on the private network, router on the published port");
        const d = await throughput(direct);
        const r = await throughput(viaRouter);
        const p = await throughput(viaPublished);

        log("node loss under load");
        const apps = Object.keys(outputs.applications);
        const loss = await nodeLoss(apps.map((a) => `${outputs.routerUrl}${a}/`), replica.node);

        log("route change (a third app) under load");
        lab.configure((c) => {
            c["matrix:applications"].push({ name: "simplewebapp3", build: "apps/simplewebapp2", port: 8080, replicas: 2, memory: "64m" });
        });
        const change = await applyUnderLoad(apps.map((a) => `${outputs.routerUrl}${a}/`), () => lab.up());

        log("destroy");
        const gone = await lab.destroy();
        const left = labObjects();

        process.stdout.write(JSON.stringify({
            deploySeconds: round(cold.seconds, 1),
            deployResources: cold.changes.create,
            warmUpDeploySeconds: round(warm.seconds, 1),
            idlePreviewSeconds: round(idle.seconds, 1),
            destroySeconds: round(gone.seconds, 1),
            destroySecondsFirst: round(firstDestroy.seconds, 1),
            leftAfterDestroy: left.length,
            nodeLoss: {
                node: loss.node,
                requests: loss.down.requests,
                failed: loss.down.failed,
                recoverySeconds: round(loss.down.recoverySeconds),
                steadySeconds: round(loss.down.steadySeconds),
                maxLatencyMs: loss.down.maxLatencyMs,
                rejoinSeconds: round(loss.rejoinSeconds),
                failedWhileRejoining: loss.rejoin.failed,
            },
            routeChange: { requests: change.load.requests, failed: change.load.failed, applySeconds: round(change.apply.seconds, 1) },
            throughput: {
                // Client, Varnish and replicas share this machine's cores: on few cores the
                // router's own CPU shows in the ratio.
                cores: os.cpus().length,
                directRps: d.rps,
                routerRps: r.rps,
                publishedRouterRps: p.rps,
                ratio: round(r.rps / d.rps),
                publishedRatio: round(p.rps / d.rps),
                failed: d.failed + r.failed + p.failed,
            },
        }) + "\n");
    } finally {
        if ((await lab.resourceCount()) > 0) await lab.destroy();
        await lab.remove();
    }
}

main().catch((e) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(1);
});
