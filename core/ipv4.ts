// IPv4 arithmetic for the cloud's own ranges (small and IPv4-only, like the seed's network).
// One copy, shared by the config checks and the tenant allocator.

export const toInt = (ip: string) => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
export const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** A CIDR's first and last address (as integers), netmask and prefix; `hostBitsSet`: the base was not the network. */
export function cidrRange(cidr: string) {
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    const network = Math.floor(toInt(base) / size) * size;
    return { network, broadcast: network + size - 1, netmask: toIp(2 ** 32 - size), bits: Number(bits), hostBitsSet: network !== toInt(base) };
}

/** Whether two IPv4 CIDRs share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
    const x = cidrRange(a);
    const y = cidrRange(b);
    return x.network <= y.broadcast && y.network <= x.broadcast;
}
