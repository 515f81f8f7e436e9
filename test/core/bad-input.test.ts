// Bad input, as a new user would write it: every mistake is reported before any resource is
// registered, once, at its key path (or plan-file line), with the fix, in the project's words.
// Each row starts from a valid config (fixtures.ts), applies one mistake and names every problem.
import { buildModel } from "../../core/config";
import { baseConfig, configEnv, configProblems } from "./fixtures";

type Config = Record<string, any>;
type Row = [name: string, mistake: (c: Config) => void, problems: string | string[], files?: Record<string, string>];

const PLAN = "/p/applications.plan";
const withPlan = (c: Config, apps: Config[] = []) => Object.assign(c, { planFile: "applications.plan", applications: apps });
const labMode = (c: Config) => Object.assign(c, { mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" } });
const NAME_RULE = 'must be a name of lowercase letters, digits and "-", starting with a letter, e.g. "node1"';

const bad: Row[] = [
    // ---- seen before issue 8 ----
    ["missing network", (c) => delete c.network, 'matrix:network: is required, e.g. {cidr: "10.10.10.0/24"}'],
    ["missing nodes", (c) => delete c.nodes, "matrix:nodes: is required: a list of {name, address}"],
    ["empty nodes", (c) => (c.nodes = []), "matrix:nodes: needs at least one node"],
    ["bad mode", (c) => (c.mode = "cloud"), 'matrix:mode: must be "lab" (hosts are local containers) or "ssh" (existing machines)'],
    ["bad domain", (c) => (c.domain = "Bad_Domain"), 'matrix:domain: must be a DNS domain like "matrix" or "cloud.example": lowercase letters, digits and "-", in labels separated by "."'],
    ["bad cidr", (c) => (c.network.cidr = "10.10.10.0/33"), 'matrix:network.cidr: must be an IPv4 CIDR like "10.10.10.0/24"'],
    ["unknown key", (c) => (c.network.cdir = "x"), 'matrix:network.cdir: unknown key; did you mean "cidr"?'],
    ["bad address", (c) => (c.nodes[1].address = "10.10.10.300"), 'matrix:nodes[1].address: must be an IPv4 address like "10.10.10.11"'],
    ["address outside cidr", (c) => (c.nodes[1].address = "10.10.11.12"), "matrix:nodes[1].address: 10.10.11.12 is not a host address inside 10.10.10.0/24"],
    ["duplicate address", (c) => (c.nodes[2].address = "10.10.10.11"), "matrix:nodes[2].address: 10.10.10.11 is already used by matrix:nodes[0]"],
    ["duplicate host name", (c) => (c.nodes[1].name = "node1"), 'matrix:nodes[1].name: "node1" is already used by matrix:nodes[0]; host names must be unique'],
    ["bad host name", (c) => (c.nodes[0].name = "Node_1"), 'matrix:nodes[0].name: must be a name of lowercase letters, digits and "-", starting with a letter, e.g. "node1"'],
    ["address is gateway", (c) => (c.nodes[0].address = "10.10.10.254"), "matrix:nodes[0].address: 10.10.10.254 is the network gateway; pick another address or set matrix:network.gateway"],
    ["address in dhcp range", (c) => (c.nodes[0].address = "10.10.10.150"), "matrix:nodes[0].address: 10.10.10.150 is inside the DHCP range 10.10.10.100-10.10.10.200; static addresses must be outside it"],
    ["dhcp reversed", (c) => (c.network.dhcp = { start: "10.10.10.200", end: "10.10.10.100" }), "matrix:network.dhcp: start 10.10.10.200 is after end 10.10.10.100; swap them"],
    ["dhcp in lab mode", (c) => Object.assign(c, { mode: "lab", ssh: undefined }), "matrix:network.dhcp: DHCP is not used in lab mode (Docker assigns the lab hosts' addresses); remove it"],
    ["ssh mode without key", (c) => delete c.ssh.privateKey, 'matrix:ssh.privateKey: is required in ssh mode: {path: "~/.ssh/id_ed25519"} or {secret: "sshPrivateKey"} (or per host under <host>.ssh.privateKey)'],
    ["key file missing", (c) => (c.ssh.privateKey = { path: "/nope/id" }), "matrix:ssh.privateKey.path: /nope/id does not exist on this machine"],
    ["key secret not set", (c) => (c.ssh.privateKey = { secret: "missingKey" }), 'matrix:ssh.privateKey: secret config key "missingKey" is not set; run: pulumi config set --secret missingKey <value>'],
    ["ssh settings in lab mode", (c) => Object.assign(c, { mode: "lab", ssh: undefined, network: { cidr: "10.10.10.0/24" }, manager: { ...c.manager, ssh: { port: 22 } } }), "matrix:manager.ssh: is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it"],
    ["registry password secret missing", (c) => (c.registry = { auth: { username: "ops", password: { secret: "nope" } } }), 'matrix:registry.auth.password: secret config key "nope" is not set; run: pulumi config set --secret nope <value>'],
    ["registry password inline", (c) => (c.registry = { auth: { username: "ops", password: "hunter2" } }), 'matrix:registry.auth.password: must be {secret: "<config key>"}'],
    ["registry port clashes with router", (c) => (c.registry = { port: 80 }), "matrix:registry.port: must differ from matrix:router.port (both listen on the manager)"],
    ["port out of range", (c) => (c.router = { port: 70000 }), "matrix:router.port: must be ≤ 65535"],
    ["bad duration", (c) => (c.router = { connectTimeout: "5 seconds" }), 'matrix:router.connectTimeout: must be a duration like "500ms", "2s" or "1m"'],
    ["bad director", (c) => (c.applications[0].director = "least_conn"), 'matrix:applications[0].director: must be one of "round_robin", "random", "fallback", "hash"'],
    ["build and image", (c) => (c.applications[0].image = "x:1"), 'matrix:applications[0]: needs exactly one of "build" (a directory with a Dockerfile) or "image" (an image reference)'],
    ["no Dockerfile", (c) => (c.applications[0].build = "src/shop"), "matrix:applications[0].build: /p/src/shop/Dockerfile does not exist; the build context must contain a Dockerfile"],
    ["too many replicas", (c) => Object.assign(c.applications[0], { replicas: 3, selector: { group: "web" } }), "matrix:applications[0].replicas: must be ≤ number of eligible nodes (2) matching the selector; lower it or add nodes"],
    ["unknown node", (c) => (c.applications[1].nodes = ["node1", "node9"]), 'matrix:applications[1].nodes[1]: node "node9" is not defined in matrix:nodes (known: node1, node2, node3)'],
    ["node listed twice", (c) => (c.applications[1].nodes = ["node1", "node1"]), 'matrix:applications[1].nodes[1]: node "node1" is listed twice; one replica per node'],
    ["nodes and replicas", (c) => (c.applications[1].replicas = 2), 'matrix:applications[1]: set either "nodes" (explicit) or "replicas" (spread), not both'],
    ["not placed", (c) => delete c.applications[0].replicas, 'matrix:applications[0]: is not placed: set "nodes", "replicas", or add lines to the plan file'],
    ["missing port", (c) => delete c.applications[0].port, "matrix:applications[0].port: is required: the port the app listens on inside its container"],
    ["duplicate app", (c) => (c.applications[1].name = "shop"), 'matrix:applications[1].name: "shop" is already defined at matrix:applications[0]'],
    ["duplicate route", (c) => (c.applications[1].route = { path: "/shop/" }), 'matrix:applications[1].route.path: "/shop/" is already routed to app "shop"'],
    ["duplicate route on a virtual host", (c) => { c.applications[0].route = { hostname: "www.matrix", path: "/" }; c.applications[1].route = { hostname: "www.matrix", path: "/" }; }, 'matrix:applications[1].route.path: "/" on www.matrix is already routed to app "shop"'],
    ["app hostname shadows a host", (c) => (c.applications[1].route = { hostname: "node2.matrix" }), 'matrix:applications[1].route.hostname: "node2.matrix" is the DNS name of host "node2"; choose another hostname'],
    ["app hostname shadows the registry", (c) => (c.applications[1].route = { hostname: "registry.matrix" }), 'matrix:applications[1].route.hostname: "registry.matrix" is the DNS name of the registry; choose another hostname'],
    ["route without slash", (c) => (c.applications[1].route = { path: "/blog" }), 'matrix:applications[1].route.path: must start and end with "/", e.g. "/shop/"'],
    ["reservation above limit", (c) => Object.assign(c.applications[0], { memory: "128m", memoryReservation: "256m" }), "matrix:applications[0].memoryReservation: (256 MiB) must be ≤ memory (128 MiB): the soft limit sits below the hard one"],
    ["bad cpuset", (c) => (c.applications[0].cpuset = "0-"), 'matrix:applications[0].cpuset: must be a CPU list like "0-1" or "0,2"'],
    ["env secret not set", (c) => (c.applications[0].env = { TOKEN: { secret: "apiToken" } }), 'matrix:applications[0].env.TOKEN: secret config key "apiToken" is not set; run: pulumi config set --secret apiToken <value>'],
    ["host port collision", (c) => Object.assign(c, { applications: [{ ...c.applications[1], hostPort: 8080 }, { name: "b2", image: "x", port: 80, nodes: ["node3"], hostPort: 8080 }] }), 'matrix:applications[1]: host port 8080 on node "node3" is already used by app "blog"; choose another port'],
    ["selector only with replicas", (c) => (c.applications[1].selector = { group: "web" }), 'matrix:applications[1].selector: only applies with "replicas"; remove it or use replicas'],
    ["hostPorts reversed", (c) => (c.hostPorts = { start: 30000, end: 20000 }), "matrix:hostPorts: start 30000 is after end 20000"],
    ["plan file missing", (c) => (c.planFile = "applications.plan"), "matrix:planFile: file /p/applications.plan does not exist; create it or remove the key"],
    ["drained manager", (c) => (c.manager.drain = true), "matrix:manager.drain: applies to nodes only (the manager runs no replicas); remove it"],
    ["app pinned to a drained node", (c) => (c.nodes[2].drain = true), 'matrix:applications[1].nodes[1]: node "node3" is drained (drain: true in matrix:nodes); list another node, or use replicas to let placement choose, or undrain the node'],
    ["drain leaves too few nodes", (c) => { c.nodes[1].drain = true; Object.assign(c.applications[0], { replicas: 2, selector: { group: "web" } }); }, "matrix:applications[0].replicas: must be ≤ number of eligible nodes (1) matching the selector, drained nodes excluded; lower it or add nodes"],
    ["version of an image app", (c) => (c.applications[1].version = "0123456789abcdef"), "matrix:applications[1].version: pins a built app to an earlier build; for an image app set image to the earlier reference instead"],
    ["bad version", (c) => (c.applications[0].version = "latest"), 'matrix:applications[0].version: must be a build tag as listed in the stack output applications.<app>.version, e.g. "3f2a9c1d0b7e5a64"'],
    ["bad health path", (c) => (c.applications[0].health = { path: "/$(reboot)" }), 'matrix:applications[0].health.path: must be a URL path starting with "/"'],
    ["zero parallelism", (c) => (c.applications[0].update = { parallelism: 0 }), "matrix:applications[0].update.parallelism: must be ≥ 1"],
    ["keep nothing", (c) => (c.registry = { keep: 0 }), "matrix:registry.keep: must be ≥ 1 (the image in use)"],
    ["bad capability", (c) => (c.applications[0].security = { capDrop: ["net_raw"] }), 'matrix:applications[0].security.capDrop[0]: is not a Linux capability; did you mean "NET_RAW"?'],
    // ---- unknown and misspelled keys ----
    ["misspelled top-level key", (c) => { c.aplications = c.applications; delete c.applications; }, 'matrix:aplications: unknown key; did you mean "applications"?'],
    ["top-level key in the wrong case", (c) => { c.Nodes = c.nodes; delete c.nodes; }, 'matrix:Nodes: unknown key; did you mean "nodes"?'],
    ["unknown top-level key", (c) => (c.flavour = "vanilla"), "matrix:flavour: unknown key: no matrix setting (see README, Configuration) and no secret that a {secret: ...} refers to; remove it with: pulumi config rm flavour"],
    ["a path set without --path", (c) => (c["router.port"] = 8080), "matrix:router.port: is not a setting; to set a field of \"router\" run: pulumi config set --path 'router.port' <value>"],
    ["misspelled key in an application", (c) => { c.applications[0].replica = 2; delete c.applications[0].replicas; }, 'matrix:applications[0].replica: unknown key; did you mean "replicas"?'],
    ["misspelled required key in a node", (c) => { c.nodes[0].adress = c.nodes[0].address; delete c.nodes[0].address; }, 'matrix:nodes[0].adress: unknown key; did you mean "address"?'],
    ["unknown key with no likely meaning", (c) => (c.network.mask = "255.255.255.0"), "matrix:network.mask: unknown key; the keys here are cidr, gateway, dhcp, upstreamDns"],
    ["misspelled key in a build", (c) => (c.applications[0].build = { context: "apps/shop", dockerFile: "Dockerfile" }), 'matrix:applications[0].build.dockerFile: unknown key; did you mean "dockerfile"?'],
    ["misspelled probe key", (c) => (c.router = { probe: { treshold: 2 } }), 'matrix:router.probe.treshold: unknown key; did you mean "threshold"?'],
    ["misspelled entry of a planned app: reported once", (c) => withPlan(c, [{ name: "web", imagee: "nginx:1.27" }]), 'matrix:applications[0].imagee: unknown key; did you mean "image"?', { [PLAN]: "web node1 9000 80\n" }],

    // ---- wrong types say the expected type ----
    ["nodes as one object", (c) => (c.nodes = c.nodes[0]), "matrix:nodes: must be a list of objects with keys name, address, ssh, groups, labels, drain, cpus, memory"],
    ["network as a string", (c) => (c.network = "10.10.10.0/24"), "matrix:network: must be an object with keys cidr, gateway, dhcp, upstreamDns"],
    ["replicas as a string", (c) => (c.applications[0].replicas = "2"), "matrix:applications[0].replicas: must be a whole number"],
    ["a fraction where a count goes", (c) => (c.registry = { keep: 2.5 }), "matrix:registry.keep: must be a whole number"],
    ["cpus as a string", (c) => (c.applications[0].cpus = "2"), "matrix:applications[0].cpus: must be a number"],
    ["yes for a boolean", (c) => (c.router = { cache: "yes" }), "matrix:router.cache: must be true or false"],
    ["groups as a string", (c) => (c.nodes[0].groups = "web"), "matrix:nodes[0].groups: must be a list of names"],
    ["upstream DNS as a string", (c) => (c.network.upstreamDns = "1.1.1.1"), "matrix:network.upstreamDns: must be a list of IPv4 addresses"],
    ["capAdd as a string", (c) => (c.applications[0].security = { capAdd: "NET_ADMIN" }), 'matrix:applications[0].security.capAdd: must be a list of capability names like "NET_RAW"'],
    ["hostPorts as a range string", (c) => (c.hostPorts = "20000-29999"), "matrix:hostPorts: must be an object with keys start, end"],
    ["label value as a number", (c) => (c.nodes[0].labels = { zone: 1 }), "matrix:nodes[0].labels.zone: must be a string"],
    ["env value as a number", (c) => (c.applications[0].env = { WORKERS: 4 }), 'matrix:applications[0].env.WORKERS: must be a string or {secret: "<config key>"}'],
    ["build as a number", (c) => (c.applications[0].build = 1), 'matrix:applications[0].build: must be a directory with a Dockerfile ("apps/shop") or {context, dockerfile, args}'],
    ["build arg as a number", (c) => (c.applications[0].build = { context: "apps/shop", args: { VERSION: 2 } }), "matrix:applications[0].build.args.VERSION: must be a string"],
    ["hostname false", (c) => (c.applications[0].route = { hostname: false }), 'matrix:applications[0].route.hostname: must be true (for <app>.<domain>) or a host name like "shop.example"'],
    ["private key as a plain path", (c) => (c.ssh.privateKey = "~/.ssh/id_ed25519"), 'matrix:ssh.privateKey: must be {path: "~/.ssh/id_ed25519"} or {secret: "<config key>"}'],
    ["an empty health command", (c) => (c.applications[0].health = { command: [] }), "matrix:applications[0].health.command: must not be empty"],
    ["node list as an empty string: one problem", (c) => (c.applications[1].nodes = ""), "matrix:applications[1].nodes: must be a list of names"],
    ["an app without nodes in its list", (c) => (c.applications[1].nodes = []), 'matrix:applications[1].nodes: must list at least one node (or use "replicas")'],
    ["missing manager address", (c) => delete c.manager.address, 'matrix:manager.address: is required: an IPv4 address like "10.10.10.11"'],
    ["missing app name", (c) => delete c.applications[0].name, 'matrix:applications[0].name: is required: a name like "node1"'],
    ["bad env name", (c) => (c.applications[0].env = { "1X": "a" }), "matrix:applications[0].env.1X: env names are letters, digits and _"],
    ["bad label key", (c) => (c.nodes[0].labels = { "rack id": "7" }), "matrix:nodes[0].labels.rack id: label keys use letters, digits and _ . / -"],

    // ---- names: DNS labels, length before pattern ----
    ["host name too long", (c) => (c.nodes[0].name = "n".repeat(41)), "matrix:nodes[0].name: is 41 characters long; names are at most 40"],
    ["app name too long", (c) => (c.applications[0].name = "shop-" + "x".repeat(40)), "matrix:applications[0].name: is 45 characters long; names are at most 40"],
    ["name ending in a hyphen", (c) => (c.nodes[1].name = "node-"), 'matrix:nodes[1].name: must not end with "-" (names are DNS labels)'],
    ["cloud name starting with a digit", (c) => (c.cloudName = "1cloud"), `matrix:cloudName: ${NAME_RULE}`],
    ["group in capitals", (c) => (c.nodes[0].groups = ["Web"]), `matrix:nodes[0].groups[0]: ${NAME_RULE}`],
    ["plan-file app name too long", (c) => withPlan(c), 'applications.plan:1: app name "' + "w".repeat(41) + '" is 41 characters long; names are at most 40', { [PLAN]: "w".repeat(41) + " node1 9000 80\n" }],

    // ---- DNS names: labels ≤ 63, whole ≤ 253 ----
    ["domain label too long", (c) => (c.domain = "d".repeat(64) + ".example"), 'matrix:domain: has a label of 64 characters ("dddddddddddd…"); DNS labels are at most 63'],
    ["domain too long", (c) => (c.domain = Array(5).fill("d".repeat(60)).join(".")), "matrix:domain: is 304 characters long; DNS names are at most 253"],
    ["domain label ending in a hyphen", (c) => (c.domain = "cloud-.example"), 'matrix:domain: has the label "cloud-"; a DNS label must not start or end with "-"'],
    ["domain with an empty label", (c) => (c.domain = "cloud..example"), 'matrix:domain: has an empty label ("cloud..example"); labels are separated by single dots'],
    ["domain too long for the host names", (c) => (c.domain = Array(4).fill("d".repeat(61)).join(".")), "matrix:domain: makes the name manager.<domain> 255 characters long (DNS names are at most 253); shorten it"],
    ["hostname label too long", (c) => (c.applications[0].route = { hostname: "h".repeat(64) + ".example" }), 'matrix:applications[0].route.hostname: has a label of 64 characters ("hhhhhhhhhhhh…"); DNS labels are at most 63'],
    ["hostname as a URL", (c) => (c.applications[0].route = { hostname: "https://shop.example" }), 'matrix:applications[0].route.hostname: must be a host name without "https://", e.g. "shop.example"'],
    ["hostname with a port", (c) => (c.applications[0].route = { hostname: "shop.example:8080" }), "matrix:applications[0].route.hostname: must be a host name without a port (requests reach the router's port)"],
    ["hostname in capitals", (c) => (c.applications[0].route = { hostname: "Shop.example" }), 'matrix:applications[0].route.hostname: must be a host name like "shop.example": lowercase letters, digits and "-", in labels separated by "."'],

    // ---- names the cloud's DNS already serves ----
    ["app hostname shadows a host's short name", (c) => (c.applications[0].route = { hostname: "node2" }), 'matrix:applications[0].route.hostname: "node2" is the DNS name of host "node2"; choose another hostname'],
    ["app hostname shadows the manager", (c) => (c.applications[0].route = { hostname: "manager.matrix" }), 'matrix:applications[0].route.hostname: "manager.matrix" is the DNS name of host "manager"; choose another hostname'],
    ["app named after a host, on its own hostname", (c) => Object.assign(c.applications[0], { name: "node1", build: "apps/node1", route: { hostname: true } }), 'matrix:applications[0].route.hostname: "node1.matrix" is the DNS name of host "node1"; choose another hostname'],
    ["a node named registry", (c) => c.nodes.push({ name: "registry", address: "10.10.10.14" }), 'matrix:nodes[3].name: "registry" is the cloud\'s DNS name of its registry (registry.matrix); choose another name'],

    // ---- ports the cloud itself holds on the same host ----
    ["router on sshd's port", (c) => (c.router = { port: 22 }), "matrix:router.port: 22 is where sshd listens on the manager; choose another port"],
    ["registry on the DNS port", (c) => (c.registry = { port: 53 }), "matrix:registry.port: 53 is the port of the cloud's DNS on the manager; choose another port"],
    ["router on the DNS port", (c) => (c.router = { port: 53 }), "matrix:router.port: 53 is the port of the cloud's DNS on the manager; choose another port"],
    ["router admin port on sshd's port", (c) => (c.router = { adminPort: 22 }), "matrix:router.adminPort: 22 is where sshd listens on the manager; choose another port"],
    ["router admin port on the registry's", (c) => (c.router = { adminPort: 5000 }), "matrix:router.adminPort: must differ from matrix:registry.port (both listen on the manager)"],
    ["router on a custom sshd port", (c) => { c.ssh.port = 2222; c.router = { port: 2222 }; }, "matrix:router.port: 2222 is where sshd listens on the manager; choose another port"],
    ["registry on the lab manager's sshd port", (c) => { labMode(c); c.registry = { port: 22 }; }, "matrix:registry.port: 22 is where sshd listens on the manager; choose another port"],
    ["host port range over sshd", (c) => (c.hostPorts = { start: 1, end: 1024 }), "matrix:hostPorts: includes port 22, where sshd listens on every node; choose a range without it"],
    ["host port range over one node's sshd", (c) => (c.nodes[2].ssh = { port: 20022 }), 'matrix:hostPorts: includes port 20022, where sshd listens on node "node3"; choose a range without it'],
    ["fixed host port on sshd's", (c) => (c.applications[1].hostPort = 22), "matrix:applications[1].hostPort: 22 is where sshd listens on nodes node1, node3; choose another port"],
    ["plan-file port on sshd's", (c) => withPlan(c), 'applications.plan:1: external_port 22 is where sshd listens on node "node2"; choose another port', { [PLAN]: "web node2 22 80\n" }],
    ["lab router port among the SSH ports", (c) => { labMode(c); c.lab = { routerPort: 2222 }; }, "matrix:lab.routerPort: 2222 collides with the lab SSH ports 2221-2224"],
    ["lab router and registry on one port", (c) => { labMode(c); c.lab = { routerPort: 8080, registryPort: 8080 }; }, "matrix:lab.registryPort: must differ from matrix:lab.routerPort"],
    ["lab SSH ports beyond 65535", (c) => { labMode(c); c.lab = { sshPortBase: 65534 }; }, "matrix:lab.sshPortBase: with 4 hosts the SSH ports would end at 65537; lower it"],

    // ---- settings the mode ignores ----
    ["lab settings in ssh mode", (c) => (c.lab = { routerPort: 8081 }), 'matrix:lab: is used in lab mode only (matrix:mode is "ssh"); remove it'],
    ["top-level ssh settings in lab mode", (c) => { labMode(c); c.ssh = { user: "admin" }; }, "matrix:ssh: is not used in lab mode (the lab publishes SSH on 127.0.0.1); remove it"],
    ["push address in lab mode", (c) => { labMode(c); c.registry = { pushAddress: "10.10.10.1:5000" }; }, "matrix:registry.pushAddress: is not used in lab mode (images are pushed to 127.0.0.1:<matrix:lab.registryPort>); remove it"],
    ["push address without a port", (c) => (c.registry = { pushAddress: "10.10.10.1" }), 'matrix:registry.pushAddress: must be "host:port", e.g. "10.10.10.1:5000"'],
    ["push address port out of range", (c) => (c.registry = { pushAddress: "10.10.10.1:70000" }), "matrix:registry.pushAddress: has the port 70000; a port is 1-65535"],
    ["ssh host with a user", (c) => (c.nodes[0].ssh = { host: "admin@203.0.113.7" }), "matrix:nodes[0].ssh.host: must be only the host to dial; put the user in ssh.user"],
    ["ssh host with a port", (c) => (c.nodes[0].ssh = { host: "203.0.113.7:2222" }), "matrix:nodes[0].ssh.host: must be only the host to dial; put the port in ssh.port"],
    ["bad ssh settings: reported once", (c) => (c.ssh = { user: "Root", privateKey: { path: "/home/op/.ssh/id_ed25519" } }), "matrix:ssh.user: must be a Unix user name"],

    // ---- the network ----
    ["CIDR with host bits", (c) => (c.network.cidr = "10.10.10.1/24"), "matrix:network.cidr: has host bits set; the network is 10.10.10.0/24"],
    ["CIDR too small", (c) => Object.assign(c.network, { cidr: "10.10.10.0/31", dhcp: undefined }), ["matrix:network.cidr: must be /30 or larger to hold a manager and a node", "matrix:network.gateway: must be inside 10.10.10.0/31", "matrix:manager.address: 10.10.10.1 is not a host address inside 10.10.10.0/31", "matrix:nodes[0].address: 10.10.10.11 is not a host address inside 10.10.10.0/31", "matrix:nodes[1].address: 10.10.10.12 is not a host address inside 10.10.10.0/31", "matrix:nodes[2].address: 10.10.10.13 is not a host address inside 10.10.10.0/31"]],
    ["gateway outside the network", (c) => (c.network.gateway = "10.10.11.1"), "matrix:network.gateway: must be inside 10.10.10.0/24"],
    ["DHCP range up to the broadcast address", (c) => (c.network.dhcp.end = "10.10.10.255"), "matrix:network.dhcp.end: must be inside 10.10.10.0/24"],
    ["lease shorter than dnsmasq's minimum", (c) => (c.network.dhcp.leaseTime = "1m"), "matrix:network.dhcp.leaseTime: must be at least 2m (dnsmasq's shortest lease)"],
    ["lease time in words", (c) => (c.network.dhcp.leaseTime = "12 hours"), 'matrix:network.dhcp.leaseTime: must be a lease time like "12h" or "infinite"'],
    ["upstream DNS is the manager", (c) => (c.network.upstreamDns = ["10.10.10.1"]), "matrix:network.upstreamDns[0]: 10.10.10.1 is the manager, whose DNS would forward to itself; list a resolver outside the cloud (or none: the manager's own)"],
    ["upstream DNS is a node", (c) => (c.network.upstreamDns = ["1.1.1.1", "10.10.10.12"]), 'matrix:network.upstreamDns[1]: 10.10.10.12 is node "node2", which runs no DNS; list a resolver outside the cloud (or none: the manager\'s own)'],

    // ---- CPUs beyond the node ----
    ["cpus beyond a node's cores", (c) => { c.nodes[0].cpus = 2; c.applications[0].cpus = 4; }, 'matrix:applications[0].cpus: 4 is more than node node1 (2 cores) can give; lower it, or keep the app off it (nodes or selector)'],
    ["cpuset beyond the nodes' cores", (c) => { c.nodes[0].cpus = 2; c.nodes[2].cpus = 1; c.applications[1].cpuset = "1-2"; }, "matrix:applications[1].cpuset: names CPU 2, which nodes node1, node3 (2 cores, 1 core) lacks (CPUs count from 0); use CPUs every node has, or keep the app off them (nodes or selector)"],
    ["cpuset range reversed", (c) => (c.applications[0].cpuset = "3-1"), "matrix:applications[0].cpuset: has the reversed range 3-1; write 1-3"],
    ["cpus beyond the cpuset", (c) => Object.assign(c.applications[0], { cpus: 2, cpuset: "0" }), 'matrix:applications[0].cpus: 2 is more than the 1 CPU of cpuset "0"; lower cpus or widen cpuset'],
    ["cpus below Docker's minimum", (c) => (c.applications[0].cpus = 0.001), "matrix:applications[0].cpus: must be ≥ 0.01 (Docker's smallest CPU share)"],
    ["a host without cores", (c) => (c.nodes[0].cpus = 0), "matrix:nodes[0].cpus: must be ≥ 1 (the host's CPU cores)"],

    // ---- probes and durations Varnish or Docker reject or replace ----
    ["probe threshold above its window", (c) => (c.router = { probe: { window: 2, threshold: 3 } }), "matrix:router.probe.threshold: (3) must be ≤ router.probe.window (2): Varnish needs threshold good probes among the last window"],
    ["probe window above Varnish's limit", (c) => (c.router = { probe: { window: 65 } }), "matrix:router.probe.window: must be ≤ 64"],
    ["zero probe interval", (c) => (c.router = { probe: { interval: "0s" } }), "matrix:router.probe.interval: must be at least 1ms"],
    ["zero first-byte timeout", (c) => (c.router = { firstByteTimeout: "0ms" }), "matrix:router.firstByteTimeout: must be at least 1ms"],
    ["duration in days", (c) => (c.router = { betweenBytesTimeout: "1d" }), 'matrix:router.betweenBytesTimeout: must be a duration like "500ms", "2s" or "1m"'],
    ["health interval under a millisecond", (c) => (c.applications[0].health = { interval: "0.5ms" }), "matrix:applications[0].health.interval: must be at least 1ms"],
    ["deploy timeout within the first interval", (c) => (c.applications[0].health = { interval: "30s", deployTimeout: "20s", startPeriod: "5s" }), "matrix:applications[0].health.deployTimeout: (20s) must be longer than health.interval (30s): the first check runs one interval after the start"],
    ["deploy timeout shorter than the start period", (c) => (c.applications[0].health = { startPeriod: "2m" }), "matrix:applications[0].health.deployTimeout: (60s) must be at least health.startPeriod (2m): the deploy would give up while the app may still be starting"],
    ["health timeout beyond Docker's", (c) => (c.applications[0].health = { timeout: "9999999h", deployTimeout: "10m" }), "matrix:applications[0].health.timeout: is longer than Docker accepts (about 2562047h)"],
    ["expected status beyond HTTP's", (c) => (c.applications[0].health = { expectStatus: 700 }), "matrix:applications[0].health.expectStatus: must be ≤ 599"],

    // ---- memory ----
    ["reservation below Docker's minimum", (c) => (c.applications[0].memoryReservation = "1m"), "matrix:applications[0].memoryReservation: must be at least 6 MiB (Docker's minimum)"],
    ["memory zero", (c) => (c.applications[0].memory = 0), "matrix:applications[0].memory: must be at least 6 MiB (Docker's minimum)"],
    ["memory with a fraction", (c) => (c.applications[0].memory = "1.5g"), 'matrix:applications[0].memory: must be a size in MiB (256) or with a unit ("256m", "1g")'],

    // ---- images and capabilities ----
    ["image in capitals", (c) => (c.applications[1].image = "Nginx:1.27"), 'matrix:applications[1].image: must have a lowercase repository name ("nginx")'],
    ["image with a bad tag", (c) => (c.applications[1].image = "nginx:1.27!"), 'matrix:applications[1].image: has the tag "1.27!"; a tag is letters, digits, "_", "." and "-" (at most 128), e.g. "nginx:1.27" or "registry.example:5000/team/app:2.1"'],
    ["image with a bad registry", (c) => (c.applications[1].image = "my_registry:5000/nginx:1.27"), 'matrix:applications[1].image: has the registry "my_registry:5000", which is not a host name with an optional :port'],
    ["image with a bad digest", (c) => (c.applications[1].image = "nginx@sha256:123"), 'matrix:applications[1].image: has a malformed digest after "@"; a digest looks like "sha256:<64 hex digits>"'],
    ["base image with a space", (c) => (c.baseImage = "debian bookworm"), 'matrix:baseImage: must be an image reference, e.g. "nginx:1.27" or "registry.example:5000/team/app:2.1"'],
    ["misspelled capability", (c) => (c.applications[0].security = { capAdd: ["NET_ADMN"] }), 'matrix:applications[0].security.capAdd[0]: is not a Linux capability; did you mean "NET_ADMIN"?'],
    ["unknown capability", (c) => (c.applications[0].security = { capAdd: ["TIME_TRAVEL"] }), 'matrix:applications[0].security.capAdd[0]: must be a Linux capability name like "NET_RAW" or "ALL"'],
    ["capability added and dropped", (c) => (c.applications[0].security = { capAdd: ["NET_RAW"] }), "matrix:applications[0].security.capAdd[0]: NET_RAW is also in security.capDrop; keep it in one of the two"],

    // ---- placement ----
    ["selector group no node has", (c) => Object.assign(c.applications[0], { replicas: 1, selector: { group: "db" } }), 'matrix:applications[0].selector: matches no node: no node is in group "db" (the nodes\' groups: batch, web); fix the group or add it to nodes'],
    ["selector labels no node has", (c) => Object.assign(c.applications[0], { replicas: 1, selector: { group: "web", labels: { zone: "c" } } }), 'matrix:applications[0].selector: matches no node: no node in group "web" has the labels zone=c (the nodes\' labels: node1 zone=a; node2 zone=b; node3 (none)); fix the labels or label the nodes'],
    ["the manager listed as a node", (c) => (c.applications[1].nodes = ["node1", "manager"]), 'matrix:applications[1].nodes[1]: "manager" is the manager, which runs no apps; name a node of matrix:nodes (node1, node2, node3)'],
    ["the manager in the plan file", (c) => withPlan(c), 'applications.plan:1: "manager" is the manager, which runs no apps; name a node of matrix:nodes (node1, node2, node3)', { [PLAN]: "web manager 9000 80\n" }],
];

function mutate(f: (c: Config) => void): Config {
    const c = baseConfig();
    f(c);
    return c;
}

describe("bad input: every mistake reported once, at its key, with the fix", () => {
    test("the base config is valid", () => {
        expect(configProblems(baseConfig())).toEqual([]);
    });

    // A rest parameter: jest would take a fourth named one, absent from most rows, for a done callback.
    test.each(bad)("%s", (...row) => {
        const [, mistake, expected, files] = row as Row;
        expect(configProblems(mutate(mistake), configEnv(files))).toEqual(typeof expected === "string" ? [expected] : expected);
    });

    test(`${bad.length} distinct bad inputs, each with its own message`, () => {
        expect(bad.length).toBeGreaterThanOrEqual(80);
        expect(new Set(bad.map((b) => b[0])).size).toBe(bad.length);
        expect(new Set(bad.map((b) => JSON.stringify(b[2]))).size).toBe(bad.length);
    });

    test("no message shows a pattern or a library's wording", () => {
        for (const [, mistake, , files] of bad)
            for (const p of configProblems(mutate(mistake), configEnv(files))) {
                expect(p).not.toMatch(/\^|\$\/|\[a-z|\\d|Invalid|invalid input|Too (big|small)|expected (string|number|array|object)/);
            }
    });

    test("all problems are reported at once, in one error", () => {
        const all = configProblems(
            mutate((c) => {
                c.mode = "cloud";
                c.nodes[1].address = "10.10.11.12";
                c.applications[0].director = "x";
                c.router = { retries: -1 };
            }),
        );
        expect(all).toHaveLength(4);
        expect(all.map((p) => p.split(":")[1])).toEqual(["mode", "router.retries", "applications[0].director", "nodes[1].address"]);
    });

    test("the error message lists every problem and says nothing changed", () => {
        expect(() => buildModel(mutate((c) => (c.mode = "x")), configEnv())).toThrow(/invalid matrix configuration \(1 problem\); nothing was changed:\n {2}matrix:mode: must be/);
    });
});
