// Types shared by the test applier and its resource handlers.
import type { Spec, Redactor } from "./util";

/** Resource options of a registration that influence how the applier diffs and replaces. */
export interface RegistrationOptions {
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    retainOnDelete: boolean;
    additionalSecretOutputs: string[];
}

/** One registration, as the applier sees it after unwrapping secrets. */
export interface ResourceRequest {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    /** Inputs with secrets unwrapped; undefined/null members removed. */
    inputs: any;
    /** Top-level input keys that were secret. */
    secretKeys: string[];
    /** Provider reference "urn::id" ("" = default provider). */
    providerRef: string;
    parent: string;
    dependencies: string[];
    options: RegistrationOptions;
}

/** What the state file remembers of one resource. */
export interface StateEntry {
    urn: string;
    type: string;
    name: string;
    id: string;
    inputs: any;
    outputs: any;
    secretKeys: string[];
    /** Provider reference as registered ("" = default provider). */
    providerRef: string;
    /** Provider reference used ("urn::id"; for resources without one, the engine-style default provider's). */
    providerKey?: string;
    /** Creation order (higher = created later). */
    seq: number;
    parent?: string;
    dependencies?: string[];
    deleteBeforeReplace?: boolean;
    retainOnDelete?: boolean;
}

export interface StateFile {
    version: 1;
    project?: string;
    stack?: string;
    seq: number;
    resources: { [urn: string]: StateEntry };
    /** Inputs of providers that were replaced, by "urn::id", while resources still use them. */
    retiredProviders?: { [ref: string]: any };
    /** Component resources: no provider operations, but their parent and dependencies order deletes. */
    components?: { [urn: string]: { parent?: string; dependencies: string[] } };
}

export type Action = "created" | "updated" | "replaced" | "deleted" | "unchanged";

export interface ActionRecord {
    urn: string;
    type: string;
    name: string;
    action: Action;
    seconds: number;
    /** Input keys that changed (for updated/replaced). */
    changed?: string[];
}

export interface HandlerContext {
    /** Write a progress/diagnostic line to stderr (redacted). */
    log(line: string): void;
    redactor: Redactor;
    /** Working directory of the program (relative paths in inputs resolve from here). */
    cwd: string;
    /** How remote commands pass `environment` ("sendenv" = like the provider; "prefix" = export in the command). */
    remoteEnv: "sendenv" | "prefix";
    /** The docker endpoint of a provider reference "urn::id", or of provider inputs (opens SSH on first use). */
    docker(refOrInputs: string | object): Promise<import("./docker").DockerEndpoint>;
    tmpDir: string;
}

export interface CreateResult {
    id: string;
    outputs: any;
}

export interface Handler {
    /** Supported inputs; anything else non-empty fails the run. */
    spec: { [k: string]: Spec };
    /** Extra validation beyond the spec. */
    validate?(req: ResourceRequest): void;
    /** Given the changed input keys, update in place or replace? */
    diff(changed: string[], old: StateEntry, req: ResourceRequest): "update" | "replace";
    /** Whether a replacement must delete the old resource first (docker names are unique). */
    deleteBeforeReplace?: boolean;
    create(req: ResourceRequest, ctx: HandlerContext, providerKey: string): Promise<CreateResult>;
    update?(req: ResourceRequest, old: StateEntry, ctx: HandlerContext, providerKey: string): Promise<CreateResult>;
    delete(entry: StateEntry, ctx: HandlerContext): Promise<void>;
    /** Which provider package this type belongs to ("docker"), if it uses provider config. */
    providerPackage?: string;
    /** Inputs to store and diff, derived from the program's (e.g. an image's context digest). */
    prepareInputs?(req: ResourceRequest, cwd: string): any;
    /** The part of the inputs that counts for diffing (default: all). */
    comparable?(inputs: any): any;
}
