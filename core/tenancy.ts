// Allocators of the tenancy half: machines of pools, CPU cores and memory of nodes, tenant
// subnets and instance addresses. Pure and deterministic. Requests are served in declaration
// order and each sees only the ones before it, so a request appended to the config never moves
// an earlier one (its machines, its node, its cores, its subnet and address). Slots (subnets,
// addresses) come from a hash of the owner's name, probing on a clash, so they hardly depend on
// the order at all.
import { cidrRange, toIp } from "./ipv4";
import { sha256 } from "./hash";

/** Rendezvous (highest-random-weight) order of `candidates` for `owner`: independent of every other owner. */
export function rendezvous(owner: string, candidates: readonly string[]): string[] {
    const score = new Map(candidates.map((c) => [c, sha256(`${owner}\0${c}`)]));
    return [...candidates].sort((a, b) => score.get(b)!.localeCompare(score.get(a)!));
}

// ---------------------------------------------------------------------------------------------
// Machines of pools
// ---------------------------------------------------------------------------------------------

export interface MachineRequest {
    name: string;
    /** The pool's nodes (drained ones already left out). */
    nodes: readonly string[];
    count: number;
    exclusive: boolean;
}

export type MachineResult = { nodes: string[] } | { free: string[] };

/**
 * Each allocation, in order, takes `count` of its pool's free machines, best rendezvous score
 * first. Free for an exclusive allocation: held by no allocation before it; for a shared one:
 * held by no exclusive allocation before it. A request that does not fit gets the free machines
 * it could have had, to name them in its problem, and takes nothing.
 */
export function allocateMachines(requests: readonly MachineRequest[]): Map<string, MachineResult> {
    const held = new Map<string, "exclusive" | "shared">();
    const out = new Map<string, MachineResult>();
    for (const r of requests) {
        const free = r.nodes.filter((n) => (r.exclusive ? !held.has(n) : held.get(n) !== "exclusive"));
        if (free.length < r.count) {
            out.set(r.name, { free });
            continue;
        }
        const chosen = new Set(rendezvous(r.name, free).slice(0, r.count));
        const nodes = free.filter((n) => chosen.has(n));
        for (const n of nodes) if (held.get(n) !== "exclusive") held.set(n, r.exclusive ? "exclusive" : "shared");
        out.set(r.name, { nodes });
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// CPU cores
// ---------------------------------------------------------------------------------------------

/** The cores a valid CPU list ("0-2,4") names, ascending and once each. */
export function cpuList(v: string): number[] {
    const cores = new Set<number>();
    for (const part of v.split(",")) {
        const [from, to = from] = part.split("-").map(Number);
        for (let c = from; c <= to; c++) cores.add(c);
    }
    return [...cores].sort((a, b) => a - b);
}

/** A CPU list in its shortest form: [0,1,2,5] -> "0-2,5". */
export function formatCpuList(cores: readonly number[]): string {
    const sorted = [...new Set(cores)].sort((a, b) => a - b);
    const parts: string[] = [];
    for (let i = 0; i < sorted.length; ) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
        parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
        i = j + 1;
    }
    return parts.join(",");
}

/** Which cores of one node are pinned, and by whom. */
export class CoreMap {
    private readonly owners = new Map<number, string>();

    constructor(readonly cores: number) {}

    /** Cores not pinned by anyone. */
    free(): number[] {
        return Array.from({ length: this.cores }, (_, i) => i).filter((c) => !this.owners.has(c));
    }

    pinned(): number[] {
        return [...this.owners.keys()].sort((a, b) => a - b);
    }

    /** The owners of any of these cores (another's pin), by owner; empty when they are free. */
    conflicts(cores: readonly number[]): Map<string, number[]> {
        const out = new Map<string, number[]>();
        for (const c of cores) {
            const o = this.owners.get(c);
            if (o !== undefined) out.set(o, [...(out.get(o) ?? []), c]);
        }
        return out;
    }

    /** Pins these cores to `owner` (a shared pin keeps the first owner's name). */
    pin(cores: readonly number[], owner: string): void {
        for (const c of cores) if (!this.owners.has(c)) this.owners.set(c, owner);
    }

    /** The `count` lowest free cores, pinned to `owner`; undefined when too few are free. */
    take(count: number, owner: string): number[] | undefined {
        const free = this.free();
        if (free.length < count) return undefined;
        const cores = free.slice(0, count);
        this.pin(cores, owner);
        return cores;
    }
}

// ---------------------------------------------------------------------------------------------
// Subnets and addresses
// ---------------------------------------------------------------------------------------------

/**
 * A slot in [0, size) for each key: first choice from a hash of the key, the next free one on a
 * clash, keys taken in the given (declaration) order, so an appended key never takes an earlier
 * one's slot. A key's slot depends on the others only on a clash (removing a key can move a later
 * one that had clashed with it). Undefined for keys that found no slot (size exceeded).
 */
export function hashSlots(keys: readonly string[], size: number, taken: ReadonlySet<number> = new Set()): Map<string, number | undefined> {
    const used = new Set(taken);
    const out = new Map<string, number | undefined>();
    for (const key of new Set(keys)) {
        const first = parseInt(sha256(key).slice(0, 8), 16) % size;
        let slot: number | undefined;
        for (let i = 0; i < size && slot === undefined; i++) if (!used.has((first + i) % size)) slot = (first + i) % size;
        if (slot !== undefined) used.add(slot);
        out.set(key, slot);
    }
    return out;
}

/** The /24 subnets a CIDR of /24 or larger holds: how many, and the n-th (network, gateway .1, host .k). */
export function subnets24(cidr: string): { count: number; subnet(n: number): { subnet: string; gateway: string; host(k: number): string } } {
    const range = cidrRange(cidr);
    const count = range.bits <= 24 ? 2 ** (24 - range.bits) : 0;
    const start = range.network; // masked by the prefix: host bits in the base never shift the range
    return {
        count,
        subnet: (n) => ({ subnet: `${toIp(start + n * 256)}/24`, gateway: toIp(start + n * 256 + 1), host: (k) => toIp(start + n * 256 + k) }),
    };
}

/** Docker network and Linux bridge names of a tenant's network (a bridge name is at most 15 characters). */
export function tenantNetworkNames(cloudName: string, tenant: string): { name: string; bridge: string } {
    return { name: `${cloudName}-tenant-${tenant}`, bridge: `mxt${sha256(`${cloudName}\0${tenant}`).slice(0, 10)}` };
}

/** Container name of an instance on its node. */
export function instanceContainerName(cloudName: string, tenant: string, instance: string): string {
    return `${cloudName}-${tenant}-${instance}`;
}

/** Pulumi resource name of an instance: '/' occurs in no tenant or instance name. */
export function instanceResourceName(tenant: string, instance: string): string {
    return `${tenant}/${instance}`;
}

/** tc's rate in kbit/s: "10mbit" -> 10000. */
export function rateKbit(rate: string): number {
    const m = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)$/.exec(rate)!;
    return Math.round(Number(m[1]) * { kbit: 1, mbit: 1000, gbit: 1_000_000 }[m[2] as "kbit" | "mbit" | "gbit"]);
}
