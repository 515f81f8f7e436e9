// The monitoring's rendered parts: cAdvisor's command line and the monitor's config file. Pure:
// the monitor (monitor/config.go) reads every host, app, replica and router backend name from
// here, so it guesses nothing.
import { Model } from "./model";
import { vclBackendName } from "./render";

/** varnishd's working directory (its default -n, so `docker exec <router> varnishadm` needs no flag), on a volume shared with the monitor. */
export const VARNISH_DIR = "/var/lib/varnish";
export const VARNISH_WORKDIR = `${VARNISH_DIR}/varnishd`;
/** The CLI secret beside it: varnishadm reads the -S path varnishd recorded, in the monitor too. */
export const VARNISH_SECRET = `${VARNISH_DIR}/secret`;
/** The monitor's config inside its container (host side: paths.host.monitorConfig). */
export const MONITOR_CONFIG = "/etc/matrix/monitor/monitor.json";

/**
 * cAdvisor's flags: only what the monitor reads, sampled gently. --docker_only: the machine (root
 * cgroup) and docker containers, not every systemd slice; a fixed housekeeping interval without
 * the dynamic backoff (the monitor reads the latest two samples); cpu, memory, network and disk
 * only (per-CPU, scheduler, TCP/UDP tables, process lists, referenced memory and perf events
 * cost CPU on every sample and the page shows none of them); two minutes kept in memory.
 */
export function cadvisorArgs(model: Model, address: string): string[] {
    const m = model.monitoring;
    return [
        `--listen_ip=${address}`,
        `--port=${m.cadvisorPort}`,
        "--docker_only=true",
        `--housekeeping_interval=${m.housekeepingInterval}`,
        "--allow_dynamic_housekeeping=false",
        "--storage_duration=2m",
        "--enable_metrics=cpu,memory,network,disk",
        // The official image (monitoring.cadvisorImage) also accepts these, and needs no others.
    ];
}

export interface MonitorConfig {
    cloud: string;
    listen: string;
    intervalSeconds: number;
    historySeconds: number;
    varnish: { workdir: string };
    hosts: { name: string; role: "node"; address: string; cadvisor: string }[];
    apps: { name: string; version: string; image: string; replicas: { node: string; address: string; backend: string }[] }[];
}

/** The monitor's config; `apps` gives each app's version and image as deployed (known at deploy time). */
export function monitorConfig(model: Model, apps: Record<string, { version: string; image: string }>): MonitorConfig {
    const m = model.monitoring;
    return {
        cloud: model.cloudName,
        listen: `${m.bind}:${m.port}`,
        intervalSeconds: m.intervalSeconds,
        historySeconds: m.historySeconds,
        varnish: { workdir: VARNISH_WORKDIR },
        // cAdvisor runs on the nodes (the manager's own metrics are not collected yet).
        hosts: model.nodes.map((h) => ({ name: h.name, role: "node" as const, address: h.address, cadvisor: `http://${h.address}:${m.cadvisorPort}` })),
        apps: model.applications.map((a) => ({
            name: a.name,
            version: apps[a.name]?.version ?? "",
            image: apps[a.name]?.image ?? "",
            replicas: a.replicas.map((r) => ({ node: r.node, address: r.address, backend: vclBackendName(a.name, r.node) })),
        })),
    };
}

export function renderMonitorConfig(model: Model, apps: Record<string, { version: string; image: string }>): string {
    return JSON.stringify(monitorConfig(model, apps), null, 2) + "\n";
}

/** The status page's URL for operators: the lab's published port, else where the monitor listens. */
export function monitorUrl(model: Model): string {
    return model.mode === "lab" && model.lab ? `http://127.0.0.1:${model.lab.monitorPort}/` : `http://${model.monitoring.bind}:${model.monitoring.port}/`;
}
