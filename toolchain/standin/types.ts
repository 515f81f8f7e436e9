// Types shared by the stand-in plugins' server and their resource handlers.
import type { Spec, Redactor } from "./util";

/** One resource as a handler sees it: inputs with secrets unwrapped. */
export interface ResourceRequest {
    urn: string;
    type: string;
    name: string;
    /** Inputs with secrets unwrapped; undefined/null members removed. */
    inputs: any;
}

/** What the engine's state holds of an existing resource (from Update/Delete/Read requests). */
export interface StateEntry {
    urn: string;
    type: string;
    name: string;
    id: string;
    inputs: any;
    outputs: any;
}

export interface HandlerContext {
    /** Write a progress/diagnostic line to the engine's log for the current resource (redacted). */
    log(line: string): void;
    redactor: Redactor;
    /** Working directory of the plugin (the program's directory). */
    cwd: string;
    /** The docker endpoint this plugin instance was configured for (opens SSH on first use). */
    docker(): Promise<import("./docker").DockerEndpoint>;
    tmpDir: string;
}

export interface CreateResult {
    id: string;
    outputs: any;
}

export interface Handler {
    /** Supported inputs; anything else non-empty is rejected at check. */
    spec: { [k: string]: Spec };
    /** Extra validation beyond the spec (only for known inputs). */
    validate?(req: ResourceRequest): void;
    /** Given the changed input keys, update in place or replace? */
    diff(changed: string[]): "update" | "replace";
    /** Whether a replacement must delete the old resource first (docker names are unique). */
    deleteBeforeReplace?: boolean;
    create(req: ResourceRequest, ctx: HandlerContext): Promise<CreateResult>;
    update?(req: ResourceRequest, old: StateEntry, ctx: HandlerContext): Promise<CreateResult>;
    delete(entry: StateEntry, ctx: HandlerContext): Promise<void>;
    /** Read back from the world for a refresh: undefined when the resource is gone. */
    read?(entry: StateEntry, ctx: HandlerContext): Promise<StateEntry | undefined>;
    /** Inputs as checked (e.g. an image's context digest), from the program's. */
    prepareInputs?(req: ResourceRequest, cwd: string): any;
    /** The part of the inputs that counts for diffing (default: all). */
    comparable?(inputs: any): any;
}
