// Validation of tenants, instances, pools and allocations (config.ts calls checkTenancy once the
// nodes and apps are known). Every mistake is one problem at its key path, with the fix. The
// allocators (tenancy.ts) run in declaration order: allocations, then instances, each seeing only
// what came before it, so appending never moves anything already placed. Hence exclusivity is
// between allocations (a machine in an exclusive allocation is in no other allocation), and
// instances placed by node, pool or selector do not look at allocations: if they did, an
// appended allocation could push an earlier instance off its machine.
import { durationMs, cpusetCpus } from "./formats";
import { Allocation, Host, Instance, NodeCapacity, Pool, Tenancy, TenantNetwork } from "./model";
import { Problems } from "./problems";
import { InstanceConfig, ParsedConfig } from "./schema";
import { cidrRange, cidrsOverlap, toIp } from "./ipv4";
import { allocateMachines, instanceContainerName, CoreMap, cpuList, formatCpuList, hashSlots, MachineResult, rendezvous, subnets24, tenantNetworkNames } from "./tenancy";

/** Unix users of the jump host's base system: a tenant of that name would be one of them. */
const SYSTEM_USERS = ["root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "sshd", "messagebus"];
/** Smallest disk limit: sshd and a shell need some room to start. */
const MIN_DISK_MIB = 64;

export interface TenancyInput {
    cfg: Partial<ParsedConfig>;
    cloudName: string;
    domain: string;
    /** The nodes (valid ones), whether matrix:nodes itself was valid, and the manager's name. */
    nodes: Host[];
    nodesKnown: boolean;
    manager?: string;
    /** Declared cores and memory (MiB) per node, with their key paths. */
    cores: Map<string, { cores: number; where: string }>;
    memory: Map<string, { mib: number; where: string }>;
    /** What apps already pin and promise on each node: cpuset cores and memory limits. */
    apps: { name: string; where: string; nodes: string[]; cpuset?: string; memory?: number }[];
    /** DNS names the cloud already serves (hosts, registry, app hostnames) and what owns them. */
    dnsNames: Map<string, string>;
    parseSize(v: number | string | undefined): number | undefined;
    at(...p: PropertyKey[]): string;
    problems: Problems;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const known = (list: string[]) => list.join(", ") || "none";

export function checkTenancy(t: TenancyInput): Tenancy {
    const { cfg, at, problems } = t;
    const settings = cfg.tenancy;
    const tenants = checkTenants(t);
    const pools = checkPools(t);
    const allocations = checkAllocations(t, pools, tenants);
    const { instances, capacity } = checkInstances(t, tenants, pools, allocations);
    const networks = assignAddresses(t, instances);
    // "a-b"/"c" and "a"/"b-c" are different instances but would be one container name.
    const containers = new Map<string, string>();
    (cfg.instances ?? []).forEach((x, i) => {
        const name = instanceContainerName(t.cloudName, x.tenant, x.name);
        const other = containers.get(name);
        const self = `${x.tenant}/${x.name}`;
        if (other && other !== self) problems.report(at("instances", i, "name"), `its container would be named ${name}, as ${other}'s; rename one of them`);
        else containers.set(name, self); // the same instance twice is reported as a duplicate
    });
    if (settings && cfg.network && cidrsOverlap(settings.cidr, cfg.network.cidr))
        problems.report(at("tenancy", "cidr"), `${settings.cidr} overlaps the private network ${cfg.network.cidr}; choose a range of its own, e.g. "172.31.0.0/16"`);
    if (settings && Number(settings.cidr.split("/")[1]) > 24) problems.report(at("tenancy", "cidr"), "must be /24 or larger: each tenant gets a /24 on each node it has instances on");
    else if (settings && cidrRange(settings.cidr).hostBitsSet) {
        const r = cidrRange(settings.cidr);
        problems.report(at("tenancy", "cidr"), `has host bits set; the range is ${toIp(r.network)}/${r.bits}`);
    }
    return {
        cidr: settings?.cidr ?? "",
        jumpPort: settings?.jumpPort ?? 0,
        disk: settings?.disk ?? "watchdog",
        watchdogIntervalSeconds: settings ? Math.max(1, Math.round(durationMs(settings.watchdogInterval) / 1000)) : 10,
        warnPercent: settings?.warnPercent ?? 90,
        tenants: [...tenants.values()].map((x) => ({ name: x.name, keys: x.keys })),
        instances,
        networks,
        pools: [...pools.values()].map((p) => ({ name: p.name, nodes: p.nodes })),
        allocations: [...allocations.values()].filter((a) => a.nodes).map((a) => ({ name: a.name, pool: a.pool, tenant: a.tenant, purpose: a.purpose, exclusive: a.exclusive, nodes: a.nodes! })),
        capacity,
    };
}

function checkTenants({ cfg, at, problems }: TenancyInput): Map<string, { name: string; keys: string[] }> {
    const out = new Map<string, { name: string; keys: string[]; where: string }>();
    (cfg.tenants ?? []).forEach((x, i) => {
        if (out.has(x.name)) return problems.report(at("tenants", i, "name"), `"${x.name}" is already defined at ${out.get(x.name)!.where}`);
        if (SYSTEM_USERS.includes(x.name)) problems.report(at("tenants", i, "name"), `"${x.name}" is a system user of the jump host (tenants log in there by name); choose another name`);
        // The tenant is a Unix user on the jump host: useradd takes at most 32 characters.
        else if (x.name.length > 32) problems.report(at("tenants", i, "name"), `is ${x.name.length} characters; a tenant is a user on the jump host, at most 32`);
        out.set(x.name, { name: x.name, keys: x.keys.map((k) => k.trim()), where: at("tenants", i) });
    });
    return out;
}

interface PoolFacts extends Pool {
    where: string;
    /** False when the pool itself is wrong (reported there): what uses it is not checked again. */
    valid: boolean;
}

function checkPools({ cfg, nodes, nodesKnown, manager, at, problems }: TenancyInput): Map<string, PoolFacts> {
    const out = new Map<string, PoolFacts>();
    (cfg.pools ?? []).forEach((p, i) => {
        const w = (...k: PropertyKey[]) => at("pools", i, ...k);
        if (out.has(p.name)) return problems.report(w("name"), `"${p.name}" is already defined at ${out.get(p.name)!.where}`);
        let members: string[] = [];
        let valid = true;
        if (!!p.selector === !!p.nodes) valid = false;
        if (!!p.selector === !!p.nodes) problems.report(w(), 'set either "selector" ({group, labels}) or "nodes" (a list), not both or neither');
        else if (p.nodes) {
            p.nodes.forEach((n, j) => {
                if (!nodesKnown) return;
                if (!nodes.some((h) => h.name === n)) problems.report(w("nodes", j), n === manager ? `"${n}" is the manager, which is in no pool; name a node of matrix:nodes` : `node "${n}" is not defined in matrix:nodes (known: ${known(nodes.map((h) => h.name))})`);
                else if (p.nodes!.indexOf(n) !== j) problems.report(w("nodes", j), `node "${n}" is listed twice`);
            });
            members = p.nodes.filter((n, j) => nodes.some((h) => h.name === n) && p.nodes!.indexOf(n) === j);
        } else {
            const { group, labels = {} } = p.selector!;
            members = nodes.filter((n) => (!group || n.groups.includes(group)) && Object.entries(labels).every(([k, v]) => n.labels[k] === v)).map((n) => n.name);
            if (nodesKnown && members.length === 0) valid = false;
            if (nodesKnown && members.length === 0) problems.report(w("selector"), `matches no node (the nodes' groups: ${known([...new Set(nodes.flatMap((n) => n.groups))].sort())}); fix the selector or add nodes to the group`);
        }
        out.set(p.name, { name: p.name, nodes: members, where: at("pools", i), valid });
    });
    return out;
}

interface AllocationFacts extends Omit<Allocation, "nodes"> {
    where: string;
    /** Undefined when it did not fit (reported). */
    nodes?: string[];
}

/** Machines of pools, in declaration order (allocateMachines); not enough free ones is a problem naming them. */
function checkAllocations(t: TenancyInput, pools: Map<string, PoolFacts>, tenants: Map<string, unknown>): Map<string, AllocationFacts> {
    const { cfg, nodes, at, problems } = t;
    const out = new Map<string, AllocationFacts>();
    const requests: { name: string; nodes: string[]; count: number; exclusive: boolean }[] = [];
    (cfg.allocations ?? []).forEach((a, i) => {
        const w = (...k: PropertyKey[]) => at("allocations", i, ...k);
        if (out.has(a.name)) return problems.report(w("name"), `"${a.name}" is already defined at ${out.get(a.name)!.where}`);
        if (a.tenant === undefined && a.purpose === undefined) problems.report(w(), 'must say whom it is for: "tenant" (a tenant\'s name) or "purpose" (a few words)');
        if (a.tenant !== undefined && cfg.tenants && !tenants.has(a.tenant)) problems.report(w("tenant"), `tenant "${a.tenant}" is not defined in matrix:tenants (known: ${known([...tenants.keys()])})`);
        out.set(a.name, { name: a.name, pool: a.pool, tenant: a.tenant, purpose: a.purpose, exclusive: a.exclusive, where: at("allocations", i) });
        const pool = pools.get(a.pool);
        if (!pool) {
            if (cfg.pools) problems.report(w("pool"), `pool "${a.pool}" is not defined in matrix:pools (known: ${known([...pools.keys()])})`);
            return;
        }
        if (!pool.valid) return;
        const drained = new Set(nodes.filter((n) => n.drain).map((n) => n.name));
        requests.push({ name: a.name, nodes: pool.nodes.filter((n) => !drained.has(n)), count: a.count, exclusive: a.exclusive });
    });
    const result = allocateMachines(requests);
    (cfg.allocations ?? []).forEach((a, i) => {
        const r: MachineResult | undefined = result.get(a.name);
        if (!r || out.get(a.name)!.where !== at("allocations", i)) return;
        if ("nodes" in r) out.get(a.name)!.nodes = r.nodes;
        else
            problems.report(
                at("allocations", i, "count"),
                `allocation "${a.name}" asks for ${plural(a.count, "machine")} of pool "${a.pool}", which has ${plural(r.free.length, "free machine")}${r.free.length ? ` (${r.free.join(", ")})` : ""} for ${a.exclusive ? "an exclusive" : "a shared"} allocation; lower count, free an allocation before it, or add nodes to the pool`,
            );
    });
    return out;
}

interface NodeState {
    cores?: CoreMap;
    memory?: number;
    promised: number;
}

/** Instances in declaration order: placed, pinned, and counted against their node's cores and memory. */
function checkInstances(t: TenancyInput, tenants: Map<string, unknown>, pools: Map<string, PoolFacts>, allocations: Map<string, AllocationFacts>): { instances: Instance[]; capacity: NodeCapacity[] } {
    const { cfg, nodes, at, problems } = t;
    const state = new Map<string, NodeState>(nodes.map((n) => [n.name, { cores: t.cores.has(n.name) ? new CoreMap(t.cores.get(n.name)!.cores) : undefined, memory: t.memory.get(n.name)?.mib, promised: 0 }]));
    // Apps first: their cpusets and memory limits are there before any instance.
    for (const app of t.apps)
        for (const n of app.nodes) {
            const s = state.get(n);
            if (!s) continue;
            if (app.cpuset && s.cores) s.cores.pin(cpuList(app.cpuset).filter((c) => c < s.cores!.cores), `app "${app.name}" (${app.where}.cpuset)`);
            s.promised += app.memory ?? 0;
        }
    const seen = new Map<string, string>();
    const pinned = new Map<string, number[]>();
    const instances: Instance[] = [];
    (cfg.instances ?? []).forEach((x, i) => {
        const w = (...k: PropertyKey[]) => at("instances", i, ...k);
        const id = `${x.tenant}/${x.name}`;
        if (seen.has(id)) return problems.report(w("name"), `"${x.name}" of tenant "${x.tenant}" is already defined at ${seen.get(id)}`);
        seen.set(id, at("instances", i));
        if (cfg.tenants && !tenants.has(x.tenant)) problems.report(w("tenant"), `tenant "${x.tenant}" is not defined in matrix:tenants (known: ${known([...tenants.keys()])})`);
        const fqdn = `${x.name}.${x.tenant}.${t.domain}`;
        const owner = t.dnsNames.get(fqdn);
        if (owner) problems.report(w("name"), `makes the DNS name ${fqdn}, which is already ${owner}; choose another instance name`);
        if (fqdn.length > 253) problems.report(w("name"), `makes the DNS name ${fqdn} ${fqdn.length} characters long (at most 253); shorten it or the domain`);
        const limits = instanceLimits(t, x, w);
        const node = placeInstance(t, x, w, { pools, allocations, state, limits, pinned });
        if (!node) return;
        instances.push({
            tenant: x.tenant,
            name: x.name,
            node,
            address: "",
            fqdn,
            image: x.image,
            cpuset: limits.cpuset ?? (pinned.has(id) ? formatCpuList(pinned.get(id)!) : undefined),
            memory: limits.memory,
            memoryReservation: limits.memoryReservation,
            disk: limits.disk,
            bandwidth: x.bandwidth,
            user: x.user,
            rootLogin: x.rootLogin,
            allocation: x.allocation,
        });
    });
    const capacity = nodes.map((n) => {
        const s = state.get(n.name)!;
        return { node: n.name, cores: s.cores?.cores, pinnedCores: s.cores?.pinned() ?? [], memory: s.memory, memoryPromised: s.promised };
    });
    return { instances, capacity };
}

interface Limits {
    cpus?: number;
    cpuset?: string;
    memory?: number;
    memoryReservation?: number;
    disk?: number;
}

function instanceLimits({ parseSize, problems }: TenancyInput, x: InstanceConfig, w: (...k: PropertyKey[]) => string): Limits {
    const memory = parseSize(x.memory);
    const memoryReservation = parseSize(x.memoryReservation);
    const disk = parseSize(x.disk);
    if (memory !== undefined && memory < 6) problems.report(w("memory"), "must be at least 6 MiB (Docker's minimum)");
    if (memoryReservation !== undefined && memory !== undefined && memoryReservation > memory)
        problems.report(w("memoryReservation"), `(${memoryReservation} MiB) must be ≤ memory (${memory} MiB): the soft limit sits below the hard one`);
    if (disk !== undefined && disk < MIN_DISK_MIB) problems.report(w("disk"), `must be at least ${MIN_DISK_MIB} MiB (sshd and a shell need room)`);
    if (x.cpus !== undefined && x.cpuset !== undefined) problems.report(w("cpus"), 'set either "cpus" (cores the allocator picks) or "cpuset" (cores you pick), not both');
    if (x.cpuset !== undefined) {
        const set = cpusetCpus(x.cpuset);
        if ("problem" in set) problems.report(w("cpuset"), set.problem);
    }
    if (x.shareCores && x.cpuset === undefined) problems.report(w("shareCores"), 'applies to an explicit "cpuset" only (the allocator never shares); remove it or set cpuset');
    if (x.user === "root") problems.report(w("user"), 'is the login user matrix creates; to allow root logins set rootLogin: true and keep a user such as "dev"');
    return { cpus: x.cpus, cpuset: x.cpuset, memory, memoryReservation, disk };
}

interface PlaceContext {
    pools: Map<string, PoolFacts>;
    allocations: Map<string, AllocationFacts>;
    state: Map<string, NodeState>;
    limits: Limits;
    /** Cores the allocator gave each instance (by tenant/name). */
    pinned: Map<string, number[]>;
}

/** The instance's node: explicit, or the best-scored candidate with room; its cores and memory are taken there. */
function placeInstance(t: TenancyInput, x: InstanceConfig, w: (...k: PropertyKey[]) => string, c: PlaceContext): string | undefined {
    const { nodes, nodesKnown, problems } = t;
    const id = `${x.tenant}/${x.name}`;
    const owner = `instance ${id}`;
    const ways = (["node", "allocation", "pool", "selector"] as const).filter((k) => x[k] !== undefined);
    if (ways.length !== 1) {
        problems.report(w(), ways.length ? `set only one of ${ways.join(", ")}: an instance is placed one way` : 'is not placed: set "node", "allocation", "pool" or "selector"');
        return undefined;
    }
    if (!nodesKnown) return undefined;
    const way = ways[0];
    const { limits, state } = c;
    // Room on a node for this instance: what it lacks, in words, by the key that asks for it.
    const lacks = (n: string): { cpus?: string; cpuset?: string; memory?: string } => {
        const s = state.get(n)!;
        const out: { cpus?: string; cpuset?: string; memory?: string } = {};
        const pinKey = limits.cpuset ? "cpuset" : "cpus";
        if ((limits.cpus || limits.cpuset) && !s.cores) out[pinKey] = `does not declare its cores (${t.at("nodes", nodes.findIndex((h) => h.name === n), "cpus")}), which pinning needs`;
        else if (limits.cpus && !limits.cpuset && s.cores!.free().length < limits.cpus) out.cpus = `has ${plural(s.cores!.free().length, "free core")} of ${s.cores!.cores}`;
        if (limits.memory && s.memory !== undefined && s.memory - s.promised < limits.memory) out.memory = `has ${s.memory - s.promised} MiB free of ${s.memory} MiB`;
        return out;
    };
    const room = (n: string) => Object.keys(lacks(n)).length === 0;
    let node: string | undefined;
    if (way === "node") {
        const n = x.node!;
        const host = nodes.find((h) => h.name === n);
        if (!host) return void problems.report(w("node"), n === t.manager ? `"${n}" is the manager, which runs no instances; name a node of matrix:nodes` : `node "${n}" is not defined in matrix:nodes (known: ${known(nodes.map((h) => h.name))})`);
        if (host.drain) return void problems.report(w("node"), `node "${n}" is drained (drain: true in matrix:nodes); place the instance elsewhere or undrain the node`);
        node = n;
    }
    if (way !== "node") {
        let candidates: string[];
        let what: string;
        if (way === "allocation") {
            const a = c.allocations.get(x.allocation!);
            if (!a) return void (t.cfg.allocations && problems.report(w("allocation"), `allocation "${x.allocation}" is not defined in matrix:allocations (known: ${known([...c.allocations.keys()])})`));
            if (a.tenant !== undefined && a.tenant !== x.tenant) return void problems.report(w("allocation"), `allocation "${a.name}" is for tenant "${a.tenant}", not "${x.tenant}"; use one of this tenant's allocations or a pool`);
            if (!a.nodes) return undefined; // the allocation did not fit: reported there
            candidates = a.nodes;
            what = `allocation "${a.name}"`;
        } else if (way === "pool") {
            const p = c.pools.get(x.pool!);
            if (!p) return void (t.cfg.pools && problems.report(w("pool"), `pool "${x.pool}" is not defined in matrix:pools (known: ${known([...c.pools.keys()])})`));
            if (!p.valid) return undefined;
            candidates = p.nodes;
            what = `pool "${p.name}"`;
        } else {
            const { group, labels = {} } = x.selector!;
            candidates = nodes.filter((n) => (!group || n.groups.includes(group)) && Object.entries(labels).every(([k, v]) => n.labels[k] === v)).map((n) => n.name);
            what = "the selector";
        }
        candidates = candidates.filter((n) => !nodes.find((h) => h.name === n)!.drain);
        node = rendezvous(id, candidates).find(room);
        if (!node) {
            const why = candidates.length ? candidates.map((n) => `node "${n}" ${Object.values(lacks(n)).join(" and ")}`).join("; ") : "all of its nodes are drained";
            const needs = [limits.cpus && plural(limits.cpus, "core"), limits.memory && `${limits.memory} MiB`].filter(Boolean).join(", ");
            return void problems.report(w(way), `no node of ${what} has room for this instance${needs ? ` (${needs})` : ""}: ${why}; lower its limits, free capacity, or add nodes`);
        }
    } else {
        const missing = lacks(node!);
        if (missing.cpus || missing.cpuset) {
            const key = missing.cpus ? "cpus" : "cpuset";
            const text = `node "${node}" ${missing[key]!}`;
            problems.report(w(key), /declare/.test(text) ? `cannot be pinned: ${text}; set it` : `${limits.cpus} cores do not fit: ${text}; lower it, free cores, or place the instance on another node`);
        }
        if (missing.memory) problems.report(w("memory"), `${limits.memory} MiB does not fit: node "${node}" ${missing.memory} (memory limits of instances and apps); lower it or place the instance on another node`);
        if (Object.keys(missing).length) return undefined;
    }
    const s = state.get(node!)!;
    if (limits.cpuset && s.cores) {
        const cores = cpuList(limits.cpuset);
        const beyond = cores.filter((k) => k >= s.cores!.cores);
        if (beyond.length) problems.report(w("cpuset"), `names CPU ${beyond[beyond.length - 1]}, which node "${node}" lacks (${plural(s.cores.cores, "core")}, counted from 0); use cores 0-${s.cores.cores - 1}`);
        const clash = s.cores.conflicts(cores);
        if (clash.size && !x.shareCores) {
            const [other, taken] = [...clash.entries()][0];
            problems.report(w("cpuset"), `cores ${formatCpuList(taken)} on node "${node}" are already pinned to ${other}; choose free cores (free: ${formatCpuList(s.cores.free()) || "none"}) or set shareCores: true`);
        }
        s.cores.pin(cores.filter((k) => k < s.cores!.cores), owner);
    } else if (limits.cpus && s.cores) c.pinned.set(id, s.cores.take(limits.cpus, owner)!);
    s.promised += limits.memory ?? 0;
    return node;
}

/** A /24 per (tenant, node) and an address per instance in it, by hashed slots (tenancy.ts). */
function assignAddresses(t: TenancyInput, instances: Instance[]): TenantNetwork[] {
    const { cfg, at, problems } = t;
    const settings = cfg.tenancy;
    if (!settings || Number(settings.cidr.split("/")[1]) > 24) return [];
    const space = subnets24(settings.cidr);
    const pairKey = (x: { tenant: string; node: string }) => `${x.tenant}\0${x.node}`;
    const pairs = [...new Map(instances.map((x) => [pairKey(x), { tenant: x.tenant, node: x.node }])).values()];
    const slots = hashSlots(pairs.map(pairKey), space.count);
    const networks: TenantNetwork[] = [];
    for (const p of pairs) {
        const slot = slots.get(pairKey(p));
        if (slot === undefined) {
            problems.report(at("tenancy", "cidr"), `${settings.cidr} holds ${space.count} /24 subnets, fewer than the ${pairs.length} (tenant, node) pairs of the instances; use a larger range`);
            return networks;
        }
        const sub = space.subnet(slot);
        networks.push({ tenant: p.tenant, node: p.node, ...tenantNetworkNames(t.cloudName, p.tenant), subnet: sub.subnet, gateway: sub.gateway });
        const here = instances.filter((x) => pairKey(x) === pairKey(p));
        // Hosts .2 - .254 (.1 is the bridge).
        const hosts = hashSlots(here.map((x) => x.name), 253);
        for (const x of here) {
            const k = hosts.get(x.name);
            if (k === undefined) problems.report(at("instances"), `tenant "${p.tenant}" has more than 253 instances on node "${p.node}"; spread them over more nodes`);
            else x.address = sub.host(k + 2);
        }
    }
    return networks;
}
