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
 * The version of a replica: a short hash of everything its container is made from. It names the
 * container (`<cloud>-<app>-<node>-<version>`), so a new version can start beside the old one,
 * and it triggers a new host port. Secret values count too; the caller keeps the result secret then.
 */
export function replicaVersion(spec: unknown): string {
    return contentHash(JSON.stringify(spec)).slice(0, 12);
}
