// Text values with a grammar of their own (names, DNS names, durations, image references,
// CPU lists): each check returns the one problem in words, or undefined when the text is valid.
import ms from "ms";
import { didYouMean } from "./shape";

/** Longest name of a host, application, group or cloud. */
export const NAME_MAX = 40;
/** A name: a DNS label (hosts and apps are `<name>.<domain>`), and part of container and VCL names. */
export const NAME_PATTERN = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
/** Durations as both Varnish and humans read them. */
export const DURATION_PATTERN = /^\d+(\.\d+)?(ms|s|m|h)$/;

const NAME_RULE = 'lowercase letters, digits and "-", starting with a letter';

export function nameProblem(v: string): string | undefined {
    if (v.length === 0) return "must not be empty";
    if (v.length > NAME_MAX) return `is ${v.length} characters long; names are at most ${NAME_MAX}`;
    if (!/^[a-z][a-z0-9-]*$/.test(v)) return `must be a name of ${NAME_RULE}, e.g. "node1"`;
    if (v.endsWith("-")) return 'must not end with "-" (names are DNS labels)';
    return undefined;
}

/** A route's virtual host: a DNS name, without the scheme or port a URL would have. */
export function routeHostProblem(v: string): string | undefined {
    if (/^[a-z]+:\/\//i.test(v)) return `must be a host name without "${v.slice(0, v.indexOf("//") + 2)}", e.g. "shop.example"`;
    if (/:\d*$/.test(v)) return "must be a host name without a port (requests reach the router's port)";
    return dnsNameProblem(v, 'a host name like "shop.example"');
}

/** A DNS name (domain, route hostname): labels of letters, digits and "-", each ≤ 63, the whole ≤ 253. */
export function dnsNameProblem(v: string, what: string): string | undefined {
    if (v.length > 253) return `is ${v.length} characters long; DNS names are at most 253`;
    for (const label of v.split(".")) {
        if (label === "") return `has an empty label ("${v}"); labels are separated by single dots`;
        if (label.length > 63) return `has a label of ${label.length} characters ("${label.slice(0, 12)}…"); DNS labels are at most 63`;
        if (!/^[a-z0-9-]+$/.test(label)) return `must be ${what}: lowercase letters, digits and "-", in labels separated by "."`;
        if (label.startsWith("-") || label.endsWith("-")) return `has the label "${label}"; a DNS label must not start or end with "-"`;
    }
    return undefined;
}

/** Milliseconds of a duration that matches DURATION_PATTERN. */
export function durationMs(v: string): number {
    return ms(v as ms.StringValue);
}

export function durationProblem(v: string): string | undefined {
    if (!DURATION_PATTERN.test(v)) return 'must be a duration like "500ms", "2s" or "1m"';
    // Zero means "the default" to Docker's health checks and Varnish's probes; Docker takes nothing under 1ms.
    if (durationMs(v) < 1) return "must be at least 1ms";
    return undefined;
}

// Docker's reference grammar (distribution/reference), in parts.
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:\d+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const IMAGE_EXAMPLE = 'e.g. "nginx:1.27" or "registry.example:5000/team/app:2.1"';

/** An image reference as `docker pull` takes it: [registry/]repository[:tag][@digest]. */
export function imageProblem(v: string): string | undefined {
    let rest = v;
    const at = rest.indexOf("@");
    if (at >= 0) {
        if (!DIGEST.test(rest.slice(at + 1))) return `has a malformed digest after "@"; a digest looks like "sha256:<64 hex digits>"`;
        rest = rest.slice(0, at);
    }
    const parts = rest.split("/");
    const last = parts[parts.length - 1];
    const colon = last.lastIndexOf(":");
    if (colon >= 0) {
        if (!TAG.test(last.slice(colon + 1))) return `has the tag "${last.slice(colon + 1)}"; a tag is letters, digits, "_", "." and "-" (at most 128), ${IMAGE_EXAMPLE}`;
        parts[parts.length - 1] = last.slice(0, colon);
    }
    // The first part names a registry when it has a "." or ":" or is localhost.
    if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === "localhost")) {
        const registry = parts.shift()!;
        if (!DOMAIN.test(registry)) return `has the registry "${registry}", which is not a host name with an optional :port`;
    }
    const repository = parts.join("/");
    if (repository.length > 255) return `has a repository of ${repository.length} characters; at most 255`;
    if (parts.some((p) => p !== p.toLowerCase() && PATH_COMPONENT.test(p.toLowerCase()))) return `must have a lowercase repository name ("${repository.toLowerCase()}")`;
    if (!parts.every((p) => PATH_COMPONENT.test(p))) return `must be an image reference, ${IMAGE_EXAMPLE}`;
    return undefined;
}

/** The highest CPU a cpuset ("0-2,4") names and how many it names, or its problem: a reversed range. Assumes the list's syntax is valid. */
export function cpusetCpus(v: string): { max: number; count: number } | { problem: string } {
    const ranges: [number, number][] = [];
    for (const part of v.split(",")) {
        const [from, to = from] = part.split("-").map(Number);
        if (from > to) return { problem: `has the reversed range ${part}; write ${to}-${from}` };
        ranges.push([from, to]);
    }
    // Overlapping ranges ("0-2,1-3") name a CPU once.
    ranges.sort((a, b) => a[0] - b[0]);
    let count = 0;
    let end = -1;
    for (const [from, to] of ranges) {
        if (to > end) count += to - Math.max(from, end + 1) + 1;
        end = Math.max(end, to);
    }
    return { max: end, count };
}

/** Linux capabilities as Docker names them (without CAP_), and ALL. */
export const CAPABILITIES = [
    "ALL", "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN", "DAC_OVERRIDE",
    "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
    "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE",
    "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
];

export function capabilityProblem(v: string): string | undefined {
    const cap = v.replace(/^CAP_/, "");
    if (CAPABILITIES.includes(cap)) return undefined;
    const guess = didYouMean(cap.toUpperCase(), CAPABILITIES);
    return guess ? `is not a Linux capability; did you mean "${guess}"?` : 'must be a Linux capability name like "NET_RAW" or "ALL"';
}

/** Where the deploying machine dials a host: a DNS name or an address, nothing else. */
export function sshHostProblem(v: string): string | undefined {
    if (v.includes("@")) return "must be only the host to dial; put the user in ssh.user";
    if (/:\d*$/.test(v)) return "must be only the host to dial; put the port in ssh.port";
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v)) return 'must be a host name or an IPv4 address, e.g. "10.0.0.5" or "node1.example"';
    return undefined;
}

/** dnsmasq's lease time: a number of seconds, minutes, hours, days or weeks, or "infinite". */
export function leaseTimeProblem(v: string): string | undefined {
    const m = /^(\d+)([smhdw]?)$/.exec(v);
    if (v === "infinite") return undefined;
    if (!m) return 'must be a lease time like "12h" or "infinite"';
    const seconds = Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]]!;
    // dnsmasq raises a shorter lease to two minutes without a word.
    if (seconds < 120) return "must be at least 2m (dnsmasq's shortest lease)";
    return undefined;
}

/** Where the deploying machine pushes images: host:port. */
export function pushAddressProblem(v: string): string | undefined {
    const m = /^[\w.-]+:(\d+)$/.exec(v);
    if (!m) return 'must be "host:port", e.g. "10.10.10.1:5000"';
    if (Number(m[1]) < 1 || Number(m[1]) > 65535) return `has the port ${m[1]}; a port is 1-65535`;
    return undefined;
}

const KEY_TYPES = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];

/** An SSH public key as authorized_keys holds it: "<type> <base64 blob> [comment]", the blob naming its own type. */
export function publicKeyProblem(v: string): string | undefined {
    if (/[\r\n]/.test(v)) return "must be one key on one line";
    const [type, blob] = v.trim().split(/\s+/);
    if (v.startsWith("-----BEGIN")) return "is a private key or PEM file; give the public key (the .pub file's line)";
    if (/^(command|from|environment|restrict|no-)/.test(type ?? "")) return "must be the key alone, without authorized_keys options (matrix sets those)";
    if (!KEY_TYPES.includes(type ?? "")) return `must start with a key type (${KEY_TYPES.slice(0, 3).join(", ")}, ...), as the .pub file's line does`;
    if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return "has no base64 key after its type; paste the whole .pub line";
    // The blob starts with its type, length-prefixed: a truncated or mixed-up key fails here.
    const bytes = Buffer.from(blob, "base64");
    const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
    if (length < 0 || bytes.subarray(4, 4 + length).toString("latin1") !== type) return `is damaged: its base64 part is not a ${type} key (truncated or mistyped?); paste the whole .pub line`;
    if (type === "ssh-ed25519" && bytes.length !== 51) return "is damaged: an ssh-ed25519 key is 68 base64 characters; paste the whole .pub line";
    return undefined;
}
