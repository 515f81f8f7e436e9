// The forms Docker stores container settings in, as the docker provider reads them back at refresh.
// Each case is a difference once seen between what the program wrote and what a refresh read.
import { capabilities, capabilityName, cpus, memoryLimits, platformFor } from "../../core/docker-forms";

test("capabilities are written as Docker stores them: CAP_ prefixed, ALL as is, sorted, no duplicates", () => {
    expect(capabilityName("NET_RAW")).toBe("CAP_NET_RAW");
    expect(capabilityName("cap_net_admin")).toBe("CAP_NET_ADMIN");
    expect(capabilityName("ALL")).toBe("ALL");
    expect(capabilities({ adds: ["NET_RAW", "NET_ADMIN", "CAP_NET_RAW"], drops: ["ALL"] })).toEqual({ adds: ["CAP_NET_ADMIN", "CAP_NET_RAW"], drops: ["ALL"] });
});

test("empty capability lists are left out (Docker reads none back), and no block at all when both are empty", () => {
    expect(capabilities({ drops: ["NET_RAW"], adds: [] })).toEqual({ drops: ["CAP_NET_RAW"], adds: undefined });
    expect(capabilities({})).toBeUndefined();
});

test("a memory limit always states its swap (Docker's default is twice the limit, read back at refresh)", () => {
    expect(memoryLimits(128)).toEqual({ memory: 128, memorySwap: 128, memoryReservation: undefined });
    expect(memoryLimits(256, 64)).toEqual({ memory: 256, memorySwap: 256, memoryReservation: 64 });
    expect(memoryLimits(undefined)).toEqual({ memory: undefined, memorySwap: undefined, memoryReservation: undefined });
});

test("whole CPUs are written as Docker reads NanoCPUs back", () => {
    expect(cpus(1)).toBe("1.0");
    expect(cpus(0.5)).toBe("0.5");
    expect(cpus(undefined)).toBeUndefined();
});

test("the deploying machine's architecture in Docker's platform names", () => {
    expect(platformFor("x64")).toBe("linux/amd64");
    expect(platformFor("arm64")).toBe("linux/arm64");
});
