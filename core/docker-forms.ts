// Container settings in the form Docker stores and the docker provider reads back. The provider
// compares what the program writes with what it reads at refresh: any other spelling of the same
// setting is a diff, and for ForceNew inputs (capabilities) a replacement, after every refresh.
// Every component writes these settings through here; test/core/docker-forms.test.ts pins the
// forms, and the e2e refresh → preview check catches any that slip past.

/** Docker stores capability names with their CAP_ prefix (it adds it on create); ALL stays ALL. */
export function capabilityName(cap: string): string {
    const bare = cap.toUpperCase().replace(/^CAP_/, "");
    return bare === "ALL" ? "ALL" : `CAP_${bare}`;
}

/**
 * The provider's `capabilities` block in Docker's form, sorted; empty lists left out, and the
 * whole block when there is nothing to add or drop (one spelling for "none").
 */
export function capabilities(c: { adds?: readonly string[]; drops?: readonly string[] }): { adds?: string[]; drops?: string[] } | undefined {
    const form = (l: readonly string[] = []) => (l.length ? [...new Set(l.map(capabilityName))].sort() : undefined);
    const block = { adds: form(c.adds), drops: form(c.drops) };
    return block.adds || block.drops ? block : undefined;
}

/**
 * Memory limits. Docker's default swap is as much again as the memory limit, and the provider reads
 * MemorySwap back, so it is always stated: equal to the limit, i.e. no swap beyond it.
 */
export function memoryLimits(memoryMiB: number | undefined, reservationMiB?: number): { memory?: number; memorySwap?: number; memoryReservation?: number } {
    return { memory: memoryMiB, memorySwap: memoryMiB, memoryReservation: reservationMiB };
}

/** Docker reads NanoCPUs back as a decimal: whole CPUs are "1.0", not "1". */
export function cpus(n: number | undefined): string | undefined {
    return n === undefined ? undefined : Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/** The platform images are built for: `linux/<arch>` in Docker's names for Node's `process.arch`. */
export function platformFor(arch: string): string {
    const docker: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm/v7", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
    return `linux/${docker[arch] ?? arch}`;
}
