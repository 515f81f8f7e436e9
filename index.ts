// matrix: a private Docker cloud. Reads the stack config, validates all of it, then builds one Cloud.
import * as pulumi from "@pulumi/pulumi";
import { buildModel, NAMESPACE } from "./core/config";
import { nodeEnv } from "./env";
import { ConfigError } from "./core/problems";
import { CONFIG_KEYS, RawConfig } from "./core/schema";
import { Cloud } from "./components/cloud";

const config = new pulumi.Config(NAMESPACE);
const stack = pulumi.getStack();

// Every key of the namespace: a misspelled one is reported rather than ignored. Settings' values
// are read (structured ones arrive as JSON text, scalars as plain strings); any other key goes in
// by name alone, as its value may be a secret.
const settings: readonly string[] = CONFIG_KEYS;
const raw: RawConfig = {};
for (const full of Object.keys(pulumi.runtime.allConfig())) {
    if (!full.startsWith(`${NAMESPACE}:`)) continue;
    const key = full.slice(NAMESPACE.length + 1);
    const text = settings.includes(key) ? config.get(key) : undefined;
    try {
        raw[key] = text === undefined ? undefined : JSON.parse(text);
    } catch {
        raw[key] = text;
    }
}

let model;
try {
    model = buildModel(raw, nodeEnv(__dirname, (key) => config.getSecret(key) !== undefined));
} catch (err) {
    // One clear error listing every problem; nothing has been registered yet.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
}

const cloud = new Cloud(model.cloudName, { model, projectDir: __dirname, stack, secret: (key) => config.requireSecret(key) });

export const routerUrl = cloud.routerUrl;
export const routerHttpsUrl = cloud.routerHttpsUrl;
/** The status page; its API: /api/status, /api/cloud, /api/history (monitor/API.md). */
export const monitorUrl = cloud.monitorUrl;
/** The cloud's CA certificate (no key): trust it for the registry and the router's HTTPS. */
export const ca = cloud.ca;
export const registry = cloud.registryAddress;
export const nodes = cloud.nodes;
/** What the `matrix` CLI reads: the cloud's names, every host and how to reach it (key file paths, never keys). */
export const cloudInfo = cloud.cloud;
export const hosts = cloud.hosts;
/** Secret (encrypted in the state): the registry's password, for `matrix images`. */
export const registryPassword = cloud.registryPassword;
export const placement = cloud.placement;
export const applications = cloud.applications;
/** Pools, allocations and free capacity (cores, memory) per node. */
export const pools = cloud.pools;
/** Tenants' instances: node, address, DNS name and the ssh command line through the jump host. */
export const tenants = cloud.tenants;
