// Benchmark of the dev stack on the local lab, applied by the real Pulumi engine (Automation
// API): prints one JSON object of measurements (no pass/fail). Needs what the end-to-end test
// needs (see README) and wrk; takes about 10 minutes.
//
//   npm run -s bench
import * as os from "os";
import { Load, labObjects, requireTools } from "../lab/driver/lab";
import { applyUnderLoad, figures, frozenNode, nodeLoss, slowResponses, throughput } from "../lab/driver/scenario";
import { LabStack } from "../lab/driver/stack";

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function main() {
    requireTools(["wrk", "apt-get install wrk"]);
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
        log("throughput (8 connections) and latency (1 connection): direct, router on the private network, router on the published port");
        const [d, r, p] = [direct, viaRouter, viaPublished].map((u) => throughput(u));
        const [d1, r1] = [direct, viaRouter].map((u) => throughput(u, 5, 1));

        log("node loss under load");
        const apps = Object.keys(outputs.applications);
        const urls = apps.map((a) => `${outputs.routerUrl}${a}/`);
        const loss = await nodeLoss(urls, replica.node, apps.filter((a) => outputs.applications[a].replicas.some((x: any) => x.node === replica.node)).map((a) => `${outputs.routerUrl}${a}/`));

        const extra: any[] = [];
        const args: Record<string, string> = {};
        let pin: string | undefined;
        let drained: string | undefined;
        /** Before the fix: the router's default first-byte timeout (30 s) for every app. */
        let defaultTimeouts = false;
        const configure = () =>
            lab.configure((c) => {
                const a2 = c["matrix:applications"].find((a: any) => a.name === "simplewebapp2");
                a2.build = { context: "apps/simplewebapp2", args };
                if (pin) a2.version = pin;
                if (defaultTimeouts) for (const a of c["matrix:applications"]) delete a.timeouts;
                for (const n of c["matrix:nodes"]) n.drain = n.name === drained;
                c["matrix:applications"].push(...extra);
            });
        const placedOn = (node: string) => apps.filter((a) => outputs.applications[a].replicas.some((x: any) => x.node === node)).map((a) => `${outputs.routerUrl}${a}/`);

        log(`frozen node (docker pause ${replica.node}) under GET and POST load, with the router's default first-byte timeout`);
        defaultTimeouts = true;
        configure();
        await lab.up();
        const frozenBefore = await frozenNode(urls, replica.node, placedOn(replica.node));
        log("frozen node again, with the dev stack's per-app first-byte timeout (2 s)");
        defaultTimeouts = false;
        configure();
        await lab.up();
        const frozenAfter = await frozenNode(urls, replica.node, placedOn(replica.node));
        const frozen = (f: typeof frozenBefore) => ({ get: figures(f.get), post: figures(f.post), thawSeconds: round(f.thawSeconds) });

        log("slow responses (3 s each), then a batch of them in flight when a node dies");
        const slow = await slowResponses(`${outputs.routerUrl}${app}/`, replica.node);

        log("route change (a third app) under load");
        extra.push({ name: "simplewebapp3", build: "apps/simplewebapp2", port: 8080, replicas: 2, memory: "64m" });
        configure();
        const change = await applyUnderLoad(urls, () => lab.up());
        const original = change.apply.outputs.applications.simplewebapp2.version;

        const step = async (what: string, edit: () => void) => {
            log(what);
            edit();
            configure();
            const u = await applyUnderLoad(urls, () => lab.up());
            return { seconds: round(u.apply.seconds, 1), ...figures(u.load), outputs: u.apply.outputs };
        };
        const updates = [];
        for (const v of ["v1", "v2", "v3"]) updates.push(await step(`rolling update of simplewebapp2 to ${v} under load`, () => (args.VERSION = v)));
        const rollback = await step("rollback under load", () => (pin = original));
        pin = undefined;

        log("a version that never becomes healthy, under load");
        args.VERSION = "v4";
        args.HEALTHY = "no";
        configure();
        const badLoad = new Load(urls).start();
        const t0 = Date.now();
        const badFailed = await lab.up().then(() => false, () => true);
        const badSeconds = (Date.now() - t0) / 1000;
        const bad = await badLoad.stop(t0);
        const fixed = await step("the fixed version under load", () => delete args.HEALTHY);

        const victim = fixed.outputs.applications.simplewebapp2.replicas[0].node;
        const drain = await step(`drain ${victim} under load`, () => (drained = victim));
        const undrain = await step(`undrain ${victim} under load`, () => (drained = undefined));

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
                ...figures(loss.down),
                steadySeconds: round(loss.down.steadySeconds),
                post: figures(loss.downPost),
                rejoinSeconds: round(loss.rejoinSeconds),
                rejoin: figures(loss.rejoin),
            },
            frozenNode: { node: frozenBefore.node, defaultTimeout: frozen(frozenBefore), perAppTimeout: frozen(frozenAfter) },
            slowResponses: { healthy: figures(slow.slow), inFlightAtDeath: slow.inFlightAtDeath },
            routeChange: { applySeconds: round(change.apply.seconds, 1), ...figures(change.load) },
            rollingUpdates: updates.map(({ outputs: _, ...u }) => u),
            rollback: (({ outputs: _, ...u }) => u)(rollback),
            badVersion: { upFailed: badFailed, secondsUntilUpFailed: round(badSeconds, 1), ...figures(bad) },
            fixedVersion: (({ outputs: _, ...u }) => u)(fixed),
            drain: (({ outputs: _, ...u }) => u)(drain),
            undrain: (({ outputs: _, ...u }) => u)(undrain),
            throughput: {
                // One wrk client; client, Varnish and the replicas share this machine's cores.
                cores: os.cpus().length,
                directRps: d.rps,
                routerRps: r.rps,
                publishedRouterRps: p.rps,
                ratio: round(r.rps / d.rps),
                publishedRatio: round(p.rps / d.rps),
                failed: d.failed + r.failed + p.failed,
                // Latency at one connection (no queueing): what the router adds per request, ms.
                directP50Ms: d1.p50,
                directP99Ms: d1.p99,
                routerP50Ms: r1.p50,
                routerP99Ms: r1.p99,
                addedP50Ms: round(r1.p50 - d1.p50, 3),
                addedP99Ms: round(r1.p99 - d1.p99, 3),
            },
        }) + "\n");
    } finally {
        await lab.teardown();
        await lab.remove();
    }
}

main().catch((e) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(1);
});
