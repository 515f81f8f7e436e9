// What makes one replica's container, apart from the values only known at deploy time (the
// pulled image id, secret env values, the picked host port): its health check and its version.
import ms from "ms";
import { contentHash } from "./hash";
import { Application } from "./model";
import { renderScript } from "./scripts";

/** Docker health check of the app's containers: the configured command, or an HTTP GET of the health path. */
export function healthTest(app: Pick<Application, "containerPort" | "health">): string[] {
    const h = app.health;
    if (h.command) return ["CMD", ...h.command];
    const seconds = Math.max(1, Math.ceil(ms(h.timeout as ms.StringValue) / 1000));
    return ["CMD-SHELL", renderScript("healthcheck", { url: `http://127.0.0.1:${app.containerPort}${h.path}`, path: h.path, expect: h.expectStatus, seconds }).trim()];
}

/**
 * A duration as Go prints it (time.Duration's String): how the docker provider reads health
 * check times back, so "60s" sent as "60s" would differ from "1m0s" on every preview.
 */
export function goDuration(text: string): string {
    const totalMs = ms(text as ms.StringValue);
    if (totalMs === 0) return "0s";
    if (totalMs < 1000) return `${totalMs}ms`;
    const h = Math.floor(totalMs / 3_600_000);
    const m = Math.floor((totalMs % 3_600_000) / 60_000);
    const s = (totalMs % 60_000) / 1000;
    return `${h ? `${h}h${m}m` : m ? `${m}m` : ""}${s}s`;
}

/**
 * The version of a replica: a short hash of everything its container is made from. It names the
 * container (`<cloud>-<app>-<node>-<version>`), so a new version can start beside the old one,
 * and it triggers a new host port. Secret values count too; the caller keeps the result secret then.
 */
export function replicaVersion(spec: unknown): string {
    return contentHash(JSON.stringify(spec)).slice(0, 12);
}
