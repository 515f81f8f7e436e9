// Fixed places on the hosts and inside the manager's service containers.
// One definition, shared by the renderers, the components and the tests.

/** Host directory (on the manager) holding generated service config; bind-mounted read-only. */
export const MANAGER_CONFIG_DIR = "/var/lib/matrix";

export const paths = {
    /** Host side (manager). */
    host: {
        registryDir: `${MANAGER_CONFIG_DIR}/registry`,
        dnsDir: `${MANAGER_CONFIG_DIR}/dns`,
        routerDir: `${MANAGER_CONFIG_DIR}/router`,
        registryConfig: `${MANAGER_CONFIG_DIR}/registry/config.yml`,
        registryHtpasswd: `${MANAGER_CONFIG_DIR}/registry/htpasswd`,
        registryCertificate: `${MANAGER_CONFIG_DIR}/registry/tls.crt`,
        registryKey: `${MANAGER_CONFIG_DIR}/registry/tls.key`,
        tlsDir: `${MANAGER_CONFIG_DIR}/tls`,
        hitchConf: `${MANAGER_CONFIG_DIR}/tls/hitch.conf`,
        routerPem: `${MANAGER_CONFIG_DIR}/tls/router.pem`,
        dnsmasqConf: `${MANAGER_CONFIG_DIR}/dns/dnsmasq.conf`,
        dnsHosts: `${MANAGER_CONFIG_DIR}/dns/hosts`,
        dhcpHosts: `${MANAGER_CONFIG_DIR}/dns/dhcp-hosts`,
        /** The VCL varnishd (re)starts from: the last one that compiled and loaded. */
        vcl: `${MANAGER_CONFIG_DIR}/router/default.vcl`,
        /** The next VCL, written by the deploy; it becomes default.vcl only once Varnish loaded it. */
        vclStaged: `${MANAGER_CONFIG_DIR}/router/next.vcl`,
        daemonJson: "/etc/docker/daemon.json",
        /** The daemon.json keys matrix set last: merged into the host's file, removed when no longer set. */
        daemonJsonOurs: `${MANAGER_CONFIG_DIR}/daemon.json.matrix`,
        /** The monitor's config (core/monitoring.ts), bind-mounted read-only into its container. */
        monitorDir: `${MANAGER_CONFIG_DIR}/monitor`,
        monitorConfig: `${MANAGER_CONFIG_DIR}/monitor/monitor.json`,
        /** Nodes: the rules of what app containers may reach (lab hosts re-apply it at start). */
        firewall: `${MANAGER_CONFIG_DIR}/firewall.sh`,
    },
    /** Container side: each service sees its own host directory here. */
    container: {
        registryDir: "/etc/matrix/registry",
        registryConfig: "/etc/matrix/registry/config.yml",
        registryHtpasswd: "/etc/matrix/registry/htpasswd",
        registryCertificate: "/etc/matrix/registry/tls.crt",
        registryKey: "/etc/matrix/registry/tls.key",
        tlsDir: "/etc/matrix/tls",
        hitchConf: "/etc/matrix/tls/hitch.conf",
        routerPem: "/etc/matrix/tls/router.pem",
        registryData: "/var/lib/registry",
        dnsDir: "/etc/matrix/dns",
        dnsmasqConf: "/etc/matrix/dns/dnsmasq.conf",
        dnsHosts: "/etc/matrix/dns/hosts",
        dhcpHosts: "/etc/matrix/dns/dhcp-hosts",
        /** A volume: DHCP leases survive a new dnsmasq container. */
        dnsLeasesDir: "/var/lib/matrix-dns",
        dnsLeases: "/var/lib/matrix-dns/dnsmasq.leases",
        routerDir: "/etc/matrix/router",
        vcl: "/etc/matrix/router/default.vcl",
        vclStaged: "/etc/matrix/router/next.vcl",
    },
} as const;

/** Where dockerd looks for the CA it trusts for one registry (`host:port`). */
export function registryCaPath(registryAddress: string): string {
    return `/etc/docker/certs.d/${registryAddress}/ca.crt`;
}

/** Names of the manager's service containers, prefixed by the cloud name so two clouds can share a host. */
export function serviceContainerName(cloudName: string, service: "registry" | "dns" | "router" | "tls" | "monitor"): string {
    return `${cloudName}-${service}`;
}

/**
 * Pulumi name of one replica's resources (its image pull and container; their types differ).
 * '@' cannot occur in app or node names, so no two (app, node) pairs share a name, as
 * "web-a" on "n1" and "web" on "a-n1" would with '-'.
 */
export function replicaResourceName(app: string, node: string): string {
    return `${app}@${node}`;
}

/** cAdvisor's container on a node. */
export function cadvisorContainerName(cloudName: string): string {
    return `${cloudName}-cadvisor`;
}

/** Name of one application replica's container on its node. */
export function appContainerName(cloudName: string, app: string, node: string): string {
    return `${cloudName}-${app}-${node}`;
}

/** Names of the lab's Docker objects on the local engine (lab mode). */
export function labNames(cloudName: string) {
    return {
        network: `${cloudName}-lab`,
        hostImage: `${cloudName}-lab-host`,
        host: (host: string) => `${cloudName}-lab-${host}`,
        hostVolume: (host: string) => `${cloudName}-lab-${host}-docker`,
    };
}
