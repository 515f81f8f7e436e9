// `matrix`: see and operate the cloud a stack deployed. Exit codes: 0 ok, 1 an operation failed
// (or, for status, the cloud is not fully up), 2 usage.
import { Command, CommanderError } from "commander";
import * as http from "http";
import { appContainers, appNames, appNodes, askHosts, askRouter, hostError, hostImages, hostNamed, HostReport, registryCatalog, RouterView } from "./cloud";
import { CliError, EXIT, UsageError } from "./errors";
import { bytes, fixed, json, percent, table, usage } from "./format";
import { loadOutputs, Outputs } from "./outputs";
import { Container } from "./parse";
import { interactive, onHosts, Progress, streamOn } from "./remote";

export interface Io {
    out: (text: string) => void;
    err: (text: string) => void;
}

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

interface Globals {
    stack?: string;
    outputs?: string;
    json?: boolean;
}

/** Runs the CLI; resolves with the exit code (never throws, never prints a stack trace). */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
    let code: number = EXIT.ok;
    const program = buildProgram(io, (c) => (code = Math.max(code, c)));
    try {
        await program.parseAsync(argv, { from: "user" });
        return code;
    } catch (e: any) {
        if (e instanceof CommanderError) {
            // --help and --version are not errors; anything else commander rejects (no command too) is a usage error.
            return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? EXIT.ok : EXIT.usage;
        }
        io.err(`matrix: ${e instanceof Error ? e.message : String(e)}\n`);
        return e instanceof CliError ? e.exitCode : EXIT.failed;
    }
}

export function buildProgram(io: Io, exit: (code: number) => void): Command {
    const program = new Command("matrix")
        .description("See and operate a matrix cloud: hosts, apps, logs, stats, shells. Reads the cloud from the stack's outputs and reaches hosts over the program's own SSH path.")
        .option("-s, --stack <name>", "Pulumi stack (PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE are honoured)")
        .option("--outputs <file>", "read the stack's outputs from a file (`pulumi stack output --json`) instead of Pulumi")
        .option("--json", "print JSON for scripts instead of tables")
        .exitOverride()
        .showSuggestionAfterError()
        .configureOutput({ writeOut: io.out, writeErr: io.err })
        .addHelpText("after", "\nExit codes: 0 ok; 1 an operation failed, or status found a host down or a replica unhealthy; 2 usage error.");

    const globals = (cmd: Command): Globals => cmd.optsWithGlobals() as Globals;
    const outputs = (cmd: Command, secrets = false) => {
        const g = globals(cmd);
        return loadOutputs({ stack: g.stack, file: g.outputs, secrets });
    };
    const progress = (label: string) => new Progress(label);
    /** Errors of hosts that could not be asked: on stderr, each naming its host; exit 1. */
    const reportErrors = (errors: (string | undefined)[]) => {
        for (const e of errors) if (e) io.err(`matrix: ${e}\n`);
        if (errors.some(Boolean)) exit(EXIT.failed);
    };

    program
        .command("status")
        .description("every host (reachable, docker, load, memory, disk) and every app (replicas, version, health as the router sees it now, requests/s)")
        .action(async (_opts, cmd: Command) => {
            const o = await outputs(cmd);
            const [hosts, router] = await Promise.all([
                askHosts(o.hosts, { containers: true }, progress("asking hosts")),
                askRouter(o).then(
                    (v) => ({ view: v, error: undefined as string | undefined }),
                    (e: Error) => ({ view: undefined, error: e.message }),
                ),
            ]);
            const report = statusReport(o, hosts, router.view, router.error);
            if (globals(cmd).json) io.out(json(report));
            else io.out(renderStatus(report));
            if (!report.ok) exit(EXIT.failed);
        });

    program
        .command("ps")
        .description("containers on every host")
        .option("-a, --all", "also stopped containers")
        .option("--app <name>", "only this application's containers")
        .action(async (opts: { all?: boolean; app?: string }, cmd: Command) => {
            const o = await outputs(cmd);
            if (opts.app) appNodes(o, opts.app);
            const hosts = await askHosts(o.hosts, { containers: true }, progress("asking hosts"));
            const rows = hosts.flatMap((h) => (h.containers ?? []).filter((c) => (opts.all || c.state === "running") && (!opts.app || c.app === opts.app)).map((c) => ({ host: h.host.name, ...c })));
            if (globals(cmd).json) io.out(json(rows));
            else
                io.out(`${table(rows, [
                    { header: "host", value: (r) => r.host },
                    { header: "name", value: (r) => r.name },
                    { header: "app", value: (r) => r.app },
                    { header: "state", value: (r) => r.state },
                    { header: "health", value: (r) => (r.health === "none" ? undefined : r.health) },
                    { header: "image", value: (r) => shortImage(r.image) },
                    { header: "ports", value: (r) => r.ports },
                    { header: "created", value: (r) => r.created },
                ])}\n`);
            reportErrors(hosts.map(hostError));
        });

    program
        .command("images")
        .description("images on every host, and the repositories and tags in the cloud's registry")
        .action(async (_opts, cmd: Command) => {
            const o = await outputs(cmd, true);
            const [hosts, registry] = await Promise.all([
                onHosts(o.hosts, hostImages, progress("asking hosts")),
                registryCatalog(o).then(
                    (c) => ({ catalog: c, error: undefined as string | undefined }),
                    (e: Error) => ({ catalog: undefined, error: e.message }),
                ),
            ]);
            const rows = hosts.flatMap((h) => (h.value ?? []).map((i) => ({ host: h.host.name, ...i })));
            if (globals(cmd).json) io.out(json({ hosts: rows, registry: registry.catalog ?? { error: registry.error } }));
            else {
                io.out(`${table(rows, [
                    { header: "host", value: (r) => r.host },
                    { header: "repository", value: (r) => r.repository },
                    { header: "tag", value: (r) => (r.tag === "<none>" ? undefined : r.tag) },
                    { header: "digest", value: (r) => (r.digest === "<none>" ? undefined : r.digest.slice(0, 19)) },
                    { header: "id", value: (r) => r.id.replace(/^sha256:/, "").slice(0, 12) },
                    { header: "size", value: (r) => bytes(r.sizeBytes), align: "right" },
                    { header: "created", value: (r) => r.created },
                ])}\n`);
                if (registry.catalog) {
                    io.out(`\nRegistry ${registry.catalog.address}\n`);
                    io.out(`${table(registry.catalog.repositories, [
                        { header: "repository", value: (r) => r.name },
                        { header: "tags", value: (r) => r.tags.join(" ") },
                    ])}\n`);
                }
            }
            reportErrors([...hosts.map((h) => h.error && hostError({ host: h.host, error: h.error.message })), registry.error]);
        });

    // Metaleuca's describe-groups: read from the stack (the allocation is the program's, not the hosts').
    program
        .command("pools")
        .alias("describe-groups")
        .description("machine pools: their nodes, which allocations hold them, free nodes, cores and memory per node")
        .action(async (_opts, cmd: Command) => {
            const o = await outputs(cmd);
            const p = o.pools ?? { pools: {}, allocations: {}, capacity: {} };
            if (globals(cmd).json) return io.out(json(p));
            const pools = Object.entries(p.pools);
            const allocations = Object.entries(p.allocations);
            if (!pools.length) return io.out("no pools (config key matrix:pools)\n");
            io.out(`${table(pools, [
                { header: "pool", value: ([n]) => n },
                { header: "nodes", value: ([, x]) => x.nodes.join(",") },
                { header: "free", value: ([, x]) => x.free.join(",") || "-" },
            ])}\n\n`);
            if (allocations.length)
                io.out(`${table(allocations, [
                    { header: "allocation", value: ([n]) => n },
                    { header: "pool", value: ([, a]) => a.pool },
                    { header: "for", value: ([, a]) => a.for },
                    { header: "exclusive", value: ([, a]) => (a.exclusive ? "yes" : "no") },
                    { header: "nodes", value: ([, a]) => a.nodes.join(",") },
                ])}\n\n`);
            io.out(`${table(Object.entries(p.capacity), [
                { header: "node", value: ([n]) => n },
                { header: "cores free", value: ([, c]) => (c.cores === null ? "-" : `${c.coresFree}/${c.cores}`), align: "right" },
                { header: "memory free", value: ([, c]) => (c.memoryMiB === null ? "-" : `${c.memoryFreeMiB}/${c.memoryMiB} MiB`), align: "right" },
                { header: "allocations", value: ([, c]) => c.allocations.join(",") || "-" },
            ])}\n`);
        });

    program
        .command("tenants")
        .description("tenants' instances: node, address, name, pinned cores, memory, and the ssh line through the jump host")
        .action(async (_opts, cmd: Command) => {
            const o = await outputs(cmd);
            const rows = Object.entries(o.tenants ?? {}).flatMap(([tenant, instances]) => instances.map((i) => ({ tenant, ...i })));
            if (globals(cmd).json) return io.out(json(rows));
            if (!rows.length) return io.out("no tenants' instances (config keys matrix:tenants, matrix:instances)\n");
            io.out(`${table(rows, [
                { header: "tenant", value: (r) => r.tenant },
                { header: "instance", value: (r) => r.name },
                { header: "node", value: (r) => r.node },
                { header: "address", value: (r) => r.address },
                { header: "cpuset", value: (r) => r.cpuset ?? "-" },
                { header: "memory", value: (r) => (r.memory === undefined ? "-" : `${r.memory} MiB`), align: "right" },
                { header: "ssh", value: (r) => r.ssh },
            ])}\n`);
        });

    for (const [name, detailed] of [["nodes", false], ["describe-nodes", true]] as const) {
        program
            .command(`${name}${detailed ? " [host...]" : ""}`)
            .description(detailed ? "every host in detail: role, address, groups, labels, cpus, memory, disk, docker, ssh endpoint" : "the hosts: role, address, groups, labels, cpus, memory")
            .action(async (...args: any[]) => {
                const cmd: Command = args[args.length - 1];
                const only: string[] = detailed ? args[0] ?? [] : [];
                const o = await outputs(cmd);
                const chosen = only.length ? only.map((n) => hostNamed(o, n)) : o.hosts;
                const hosts = await askHosts(chosen, {}, progress("asking hosts"));
                const rows = hosts.map((r) => ({
                    name: r.host.name,
                    role: r.host.role,
                    address: r.host.address,
                    fqdn: r.host.fqdn,
                    groups: r.host.groups,
                    labels: r.host.labels,
                    drain: r.host.drain,
                    state: r.error ? "down" : "up",
                    error: hostError(r),
                    cpus: r.facts?.cpus,
                    memoryTotalBytes: r.facts?.memoryTotalBytes,
                    memoryAvailableBytes: r.facts?.memoryAvailableBytes,
                    diskTotalBytes: r.facts?.diskTotalBytes,
                    diskUsedBytes: r.facts?.diskUsedBytes,
                    load: r.facts?.load,
                    docker: r.facts?.docker,
                    ssh: `${r.host.ssh.user}@${r.host.ssh.host}:${r.host.ssh.port}`,
                }));
                if (globals(cmd).json) io.out(json(rows));
                else if (!detailed)
                    io.out(`${table(rows, [
                        { header: "name", value: (r) => r.name },
                        { header: "role", value: (r) => r.role },
                        { header: "address", value: (r) => r.address },
                        { header: "groups", value: (r) => r.groups.join(",") },
                        { header: "labels", value: (r) => Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(",") },
                        { header: "cpus", value: (r) => r.cpus, align: "right" },
                        { header: "memory", value: (r) => bytes(r.memoryTotalBytes), align: "right" },
                        { header: "state", value: (r) => (r.drain ? `${r.state},drain` : r.state) },
                    ])}\n`);
                else
                    for (const r of rows) {
                        io.out(`${r.name}\n${table(
                            [
                                ["role", r.role], ["address", r.address], ["fqdn", r.fqdn], ["groups", r.groups.join(", ")],
                                ["labels", Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(", ")], ["drain", String(r.drain)],
                                ["state", r.error ?? r.state], ["cpus", r.cpus], ["load", r.load?.join(" ")],
                                ["memory", usage(r.memoryTotalBytes !== undefined && r.memoryAvailableBytes !== undefined ? r.memoryTotalBytes - r.memoryAvailableBytes : undefined, r.memoryTotalBytes)],
                                ["disk /", usage(r.diskUsedBytes, r.diskTotalBytes)], ["docker", r.docker], ["ssh", r.ssh],
                            ] as [string, string | number | undefined][],
                            [{ header: "", value: (x) => `  ${x[0]}` }, { header: "", value: (x) => x[1] }],
                        ).split("\n").slice(1).join("\n")}\n\n`);
                    }
                reportErrors(hosts.map(hostError));
            });
    }

    program
        .command("logs <app>")
        .description("logs of all of an app's replicas, merged, each line prefixed with its node and container")
        .option("-f, --follow", "follow every replica at once (Ctrl-C stops)")
        .option("--since <time>", "only since this time: a duration (10m, 1h) or a timestamp, as docker logs takes it")
        .option("-n, --tail <lines>", "lines from the end of each replica's log", "all")
        .option("-t, --timestamps", "show each line's timestamp")
        .action(async (app: string, opts: { follow?: boolean; since?: string; tail: string; timestamps?: boolean }, cmd: Command) => {
            if (opts.tail !== "all" && !/^\d+$/.test(opts.tail)) throw new UsageError(`--tail takes a number of lines or "all", not "${opts.tail}"`);
            const o = await outputs(cmd);
            const { replicas, failures } = await appContainers(o, app, progress("finding replicas"));
            reportErrors(failures.map((f) => hostError({ host: f.host, error: f.error!.message })));
            if (!replicas.length) throw new CliError(`${app}: no running replica found on ${appNodes(o, app).map((h) => h.name).join(", ")}`);
            const asJson = globals(cmd).json;
            const dockerArgs = (c: Container) => ["docker", "logs", "--timestamps", "--tail", opts.tail, ...(opts.since ? ["--since", opts.since] : []), ...(opts.follow ? ["--follow"] : []), c.id];
            const print = (l: LogLine) => io.out(asJson ? JSON.stringify(l) + "\n" : `${formatLogLine(l, !!opts.timestamps)}\n`);
            const lines: LogLine[] = [];
            const streams = replicas.map(({ host, container }) =>
                streamOn(host, dockerArgs(container), (text, stream) => {
                    const l = logLine(host.name, container.name, stream, text);
                    if (opts.follow) print(l);
                    else lines.push(l);
                }),
            );
            const stopAll = () => streams.forEach((s) => s.stop());
            if (opts.follow) process.once("SIGINT", stopAll);
            const ended = await Promise.allSettled(streams.map((s) => s.done));
            process.removeListener("SIGINT", stopAll);
            if (!opts.follow) for (const l of mergeLogs(lines)) print(l);
            ended.forEach((e, i) => {
                const { host, container } = replicas[i];
                if (e.status === "rejected") reportErrors([(e.reason as Error).message]);
                else if (e.value !== 0 && !(opts.follow && (e.value === 143 || e.value === -1))) reportErrors([`${host.name}: docker logs ${container.name} exited ${e.value} (container gone?)`]);
            });
        });

    program
        .command("stats [target]")
        .description("CPU, memory, network and disk per container and per node; target: an app or a host name")
        .option("-w, --watch", "refresh until interrupted")
        .option("-i, --interval <seconds>", "seconds between refreshes with --watch", "5")
        .option("--cloud", "the monitor's cloud totals (stack output monitorUrl, /api/cloud)")
        .action(async (target: string | undefined, opts: { watch?: boolean; interval: string; cloud?: boolean }, cmd: Command) => {
            const interval = Number(opts.interval);
            if (!(interval >= 1)) throw new UsageError(`--interval takes a number of seconds (1 or more), not "${opts.interval}"`);
            const o = await outputs(cmd);
            const asJson = globals(cmd).json;
            if (opts.cloud) {
                if (!o.monitorUrl) throw new CliError("this stack has no monitor (no output monitorUrl)");
                const totals = await getJson(new URL("api/cloud", o.monitorUrl).toString());
                io.out(asJson ? json(totals) : `${table(Object.entries(flatten(totals)), [{ header: "metric", value: (x) => x[0] }, { header: "value", value: (x) => x[1] }])}\n`);
                return;
            }
            const isApp = target !== undefined && o.applications[target] !== undefined;
            const hosts = target === undefined ? o.hosts : isApp ? appNodes(o, target) : [hostNamed(o, target)];
            for (;;) {
                const reports = await askHosts(hosts, { containers: true, stats: true }, opts.watch ? undefined : progress("sampling hosts"));
                const sample = statsSample(reports, isApp ? target : undefined);
                if (asJson) io.out(opts.watch ? `${JSON.stringify(sample)}\n` : json(sample));
                else {
                    if (opts.watch && process.stdout.isTTY) io.out("\x1b[H\x1b[2J");
                    io.out(renderStats(sample));
                }
                const errors = reports.map(hostError);
                if (!opts.watch) return reportErrors(errors);
                for (const e of errors) if (e) io.err(`matrix: ${e}\n`);
                await new Promise((r) => setTimeout(r, interval * 1000));
            }
        });

    program
        .command("ssh <host> [command...]")
        .description("a shell (or one command) on a host, with the program's key and pinned host key")
        .action(async (name: string, command: string[], _opts, cmd: Command) => {
            const o = await outputs(cmd);
            const host = hostNamed(o, name);
            exit(interactive(host, command.length ? command : undefined, !command.length && process.stdin.isTTY === true));
        });

    program
        .command("exec <app> <command...>")
        .description("run a command in a healthy replica of an app (`matrix exec web -- sh`)")
        .option("--node <host>", "the replica on this node")
        .action(async (app: string, command: string[], opts: { node?: string }, cmd: Command) => {
            const o = await outputs(cmd);
            if (opts.node && !appNodes(o, app).some((h) => h.name === opts.node)) {
                throw new UsageError(`${app} has no replica on "${opts.node}"; its nodes: ${appNodes(o, app).map((h) => h.name).join(", ")}`);
            }
            const { replicas, failures } = await appContainers(o, app);
            const candidates = replicas.filter((r) => !opts.node || r.host.name === opts.node);
            // Healthy first; a container without a health check counts when it runs.
            const pick = candidates.find((r) => r.container.health === "healthy") ?? candidates.find((r) => r.container.health === "none");
            if (!pick) {
                reportErrors(failures.map((f) => hostError({ host: f.host, error: f.error!.message })));
                throw new CliError(`${app}: no healthy replica${opts.node ? ` on ${opts.node}` : ""} (${candidates.map((c) => `${c.host.name}: ${c.container.health}`).join(", ") || "none running"})`);
            }
            const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
            if (!globals(cmd).json) io.err(`matrix: ${pick.host.name}/${pick.container.name}\n`);
            exit(interactive(pick.host, ["docker", "exec", tty ? "-it" : "-i", pick.container.id, ...command], tty));
        });

    return program;
}

// ---- status ----

export interface StatusReport {
    cloud: string;
    ok: boolean;
    hosts: {
        name: string;
        role: string;
        address: string;
        reachable: boolean;
        docker?: string;
        error?: string;
        cpus?: number;
        load?: [number, number, number];
        memoryTotalBytes?: number;
        memoryUsedBytes?: number;
        diskTotalBytes?: number;
        diskUsedBytes?: number;
        containersRunning?: number;
    }[];
    router: { reachable: boolean; error?: string; requestsPerSecond?: number };
    apps: {
        name: string;
        version: string;
        image?: string;
        healthy: number;
        replicas: { node: string; container?: string; state?: string; containerHealth?: string; router: "healthy" | "sick" | "unknown"; probe?: string; requestsPerSecond?: number }[];
        requestsPerSecond?: number;
    }[];
}

export function statusReport(o: Outputs, hosts: HostReport[], router: RouterView | undefined, routerError: string | undefined): StatusReport {
    const byHost = new Map(hosts.map((h) => [h.host.name, h]));
    const apps = appNames(o).map((name) => {
        const a = o.applications[name] as any;
        const replicas = ((a.replicas ?? []) as any[]).map((r) => {
            const node = String(r.node);
            const running = (byHost.get(node)?.containers ?? []).filter((c) => c.app === name);
            const c = running.find((x) => x.state === "running") ?? running[0];
            const b = router?.backends.find((x) => x.app === name && x.node === node);
            return {
                node,
                container: c?.name,
                state: c?.state ?? (byHost.get(node)?.error ? "unknown" : "missing"),
                containerHealth: c?.health,
                router: (b ? (b.healthy ? "healthy" : "sick") : "unknown") as "healthy" | "sick" | "unknown",
                probe: b?.good !== undefined ? `${b.good}/${b.window}` : undefined,
                requestsPerSecond: b ? router?.backendRps[b.cliName] : undefined,
            };
        });
        const rps = replicas.map((r) => r.requestsPerSecond).filter((x): x is number => x !== undefined);
        return { name, version: String(a.version), image: a.image, healthy: replicas.filter((r) => r.router === "healthy").length, replicas, requestsPerSecond: rps.length ? rps.reduce((s, x) => s + x, 0) : undefined };
    });
    const hostRows = hosts.map((h) => ({
        name: h.host.name,
        role: h.host.role,
        address: h.host.address,
        reachable: h.facts !== undefined,
        docker: h.facts?.docker,
        error: hostError(h),
        cpus: h.facts?.cpus,
        load: h.facts?.load,
        memoryTotalBytes: h.facts?.memoryTotalBytes,
        memoryUsedBytes: h.facts?.memoryTotalBytes !== undefined && h.facts.memoryAvailableBytes !== undefined ? h.facts.memoryTotalBytes - h.facts.memoryAvailableBytes : undefined,
        diskTotalBytes: h.facts?.diskTotalBytes,
        diskUsedBytes: h.facts?.diskUsedBytes,
        containersRunning: h.containers?.filter((c) => c.state === "running").length,
    }));
    const ok = hostRows.every((h) => h.reachable && h.docker !== undefined && !h.error) && !routerError && apps.every((a) => a.replicas.every((r) => r.router === "healthy"));
    return { cloud: o.cloudInfo.name, ok, hosts: hostRows, router: { reachable: !routerError, error: routerError, requestsPerSecond: router?.totalRps }, apps };
}

export function renderStatus(r: StatusReport): string {
    const hosts = table(r.hosts, [
        { header: "host", value: (h) => h.name },
        { header: "role", value: (h) => h.role },
        { header: "address", value: (h) => h.address },
        { header: "state", value: (h) => (!h.reachable ? "down" : h.docker ? "up" : "docker down") },
        { header: "docker", value: (h) => h.docker },
        { header: "load", value: (h) => h.load?.map((x) => x.toFixed(2)).join(" ") },
        { header: "memory", value: (h) => usage(h.memoryUsedBytes, h.memoryTotalBytes) },
        { header: "disk", value: (h) => usage(h.diskUsedBytes, h.diskTotalBytes) },
        { header: "containers", value: (h) => h.containersRunning, align: "right" },
    ]);
    const replicas = r.apps.flatMap((a) => a.replicas.map((x, i) => ({ app: i === 0 ? a.name : "", version: i === 0 ? a.version : "", ...x })));
    const apps = table(replicas, [
        { header: "app", value: (x) => x.app },
        { header: "version", value: (x) => x.version.slice(0, 12) },
        { header: "node", value: (x) => x.node },
        { header: "container", value: (x) => x.state },
        { header: "health", value: (x) => x.containerHealth },
        { header: "router", value: (x) => x.router },
        { header: "probes", value: (x) => x.probe },
        { header: "req/s", value: (x) => fixed(x.requestsPerSecond), align: "right" },
    ]);
    const problems = [...r.hosts.filter((h) => h.error).map((h) => h.error!), ...(r.router.error ? [r.router.error] : [])];
    const router = r.router.reachable ? `router: up, ${fixed(r.router.requestsPerSecond) ?? "-"} req/s` : "router: DOWN";
    return `Cloud ${r.cloud}: ${r.ok ? "all up" : "DEGRADED"}\n\n${hosts}\n\n${router}\n${apps}\n${problems.length ? `\n${problems.map((p) => `! ${p}`).join("\n")}\n` : ""}`;
}

// ---- stats ----

export interface StatsSample {
    time: string;
    nodes: { host: string; reachable: boolean; error?: string; cpus?: number; load1?: number; containerCpuPercent?: number; memoryUsedBytes?: number; memoryTotalBytes?: number; diskUsedBytes?: number; diskTotalBytes?: number }[];
    containers: { host: string; name: string; app?: string; cpuPercent?: number; memoryBytes?: number; memoryLimitBytes?: number; netRxBytes?: number; netTxBytes?: number; blockReadBytes?: number; blockWriteBytes?: number; pids?: number }[];
}

export function statsSample(reports: HostReport[], app?: string): StatsSample {
    const containers = reports.flatMap((r) => {
        const byId = new Map((r.containers ?? []).map((c) => [c.id, c]));
        return (r.stats ?? [])
            .map((s) => ({ host: r.host.name, name: s.name, app: byId.get(s.id)?.app, cpuPercent: s.cpuPercent, memoryBytes: s.memoryBytes, memoryLimitBytes: s.memoryLimitBytes, netRxBytes: s.netRxBytes, netTxBytes: s.netTxBytes, blockReadBytes: s.blockReadBytes, blockWriteBytes: s.blockWriteBytes, pids: s.pids }))
            .filter((c) => !app || c.app === app);
    });
    const nodes = reports.map((r) => ({
        host: r.host.name,
        reachable: r.facts !== undefined,
        error: hostError(r),
        cpus: r.facts?.cpus,
        load1: r.facts?.load?.[0],
        containerCpuPercent: r.stats ? r.stats.reduce((s, c) => s + (c.cpuPercent ?? 0), 0) : undefined,
        memoryUsedBytes: r.facts?.memoryTotalBytes !== undefined && r.facts.memoryAvailableBytes !== undefined ? r.facts.memoryTotalBytes - r.facts.memoryAvailableBytes : undefined,
        memoryTotalBytes: r.facts?.memoryTotalBytes,
        diskUsedBytes: r.facts?.diskUsedBytes,
        diskTotalBytes: r.facts?.diskTotalBytes,
    }));
    return { time: new Date().toISOString(), nodes, containers };
}

export function renderStats(s: StatsSample): string {
    const containers = table(s.containers, [
        { header: "host", value: (c) => c.host },
        { header: "container", value: (c) => c.name },
        { header: "app", value: (c) => c.app },
        { header: "cpu", value: (c) => percent(c.cpuPercent, 2), align: "right" },
        { header: "memory", value: (c) => bytes(c.memoryBytes), align: "right" },
        { header: "limit", value: (c) => bytes(c.memoryLimitBytes), align: "right" },
        { header: "net rx/tx", value: (c) => pair(c.netRxBytes, c.netTxBytes), align: "right" },
        { header: "disk r/w", value: (c) => pair(c.blockReadBytes, c.blockWriteBytes), align: "right" },
        { header: "pids", value: (c) => c.pids, align: "right" },
    ]);
    const nodes = table(s.nodes, [
        { header: "host", value: (n) => n.host },
        { header: "state", value: (n) => (n.reachable ? "up" : "down") },
        { header: "cpus", value: (n) => n.cpus, align: "right" },
        { header: "load", value: (n) => fixed(n.load1, 2), align: "right" },
        { header: "containers cpu", value: (n) => percent(n.containerCpuPercent, 2), align: "right" },
        { header: "memory", value: (n) => usage(n.memoryUsedBytes, n.memoryTotalBytes) },
        { header: "disk", value: (n) => usage(n.diskUsedBytes, n.diskTotalBytes) },
    ]);
    return `${containers}\n\n${nodes}\n`;
}

const pair = (a?: number, b?: number) => (a === undefined && b === undefined ? undefined : `${bytes(a) ?? "-"} / ${bytes(b) ?? "-"}`);

// ---- logs ----

export interface LogLine {
    node: string;
    container: string;
    stream: "stdout" | "stderr";
    /** docker's RFC 3339 timestamp (nanoseconds, trailing zeros trimmed). */
    time?: string;
    line: string;
}

export function logLine(node: string, container: string, stream: "stdout" | "stderr", text: string): LogLine {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/s.exec(text);
    return m ? { node, container, stream, time: m[1], line: m[2] } : { node, container, stream, line: text };
}

/** Lines of all replicas in time order (stable: a replica's own order is kept for equal times). */
export function mergeLogs(lines: LogLine[]): LogLine[] {
    const key = (t?: string) => {
        if (!t) return "";
        const [sec, frac = ""] = t.replace(/Z$/, "").split(".");
        return `${sec}.${frac.padEnd(9, "0")}`;
    };
    return lines.map((l, i) => ({ l, i, k: key(l.time) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i)).map((x) => x.l);
}

export function formatLogLine(l: LogLine, timestamps: boolean): string {
    return `[${l.node}/${l.container}]${timestamps && l.time ? ` ${l.time}` : ""} ${l.line}`;
}

// ---- helpers ----

/** "manager.matrix:5000/web@sha256:abcd…" → "manager.matrix:5000/web@sha256:abcdef123456". */
function shortImage(image: string): string {
    return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+/, "@sha256:$1");
}

/** Nested values as dotted keys, for a key/value table. */
export function flatten(value: unknown, prefix = ""): Record<string, string> {
    if (value === null || typeof value !== "object") return { [prefix || "value"]: String(value) };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
    return out;
}

function getJson(url: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 10_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => {
                if (res.statusCode !== 200) return reject(new CliError(`monitor ${url}: answered ${res.statusCode}`));
                try {
                    resolve(JSON.parse(body));
                } catch {
                    reject(new CliError(`monitor ${url}: the answer is not JSON`));
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
        req.on("error", (e) => reject(new CliError(`monitor ${url}: ${e.message}`)));
    });
}
