// A real browser for the tests: Debian's headless Chromium driven by playwright-core (which
// downloads no browser of its own). Shared by the status page's unit test (a local monitor)
// and its lab test. Pages may talk to 127.0.0.1 only; anything else is refused and reported.
import * as fs from "fs";
import * as path from "path";
import { Browser, BrowserContext, Page, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Screenshots go here (git-ignored; CI keeps the directory as an artifact). */
export const ARTIFACTS = path.resolve(__dirname, "../../artifacts");

/** Bounds: nothing a test does in the browser waits longer than these. */
const LAUNCH_MS = 30_000;
const ACTION_MS = 15_000;

const ARGS = [
    "--no-sandbox", // CI runs as root, where Chromium's sandbox refuses to start
    // The closed network refuses Chromium's own background connections: do not make them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

export interface LoopbackBrowser {
    browser: Browser;
    context: BrowserContext;
    /** Requests the page tried beyond 127.0.0.1 (aborted). */
    refused: string[];
    close(): Promise<void>;
}

/** Headless Chromium with one context whose pages reach 127.0.0.1 only. Fails, naming the fix, without Chromium (never skips). */
export async function launchBrowser(executablePath = CHROMIUM): Promise<LoopbackBrowser> {
    if (!fs.existsSync(executablePath)) {
        throw new Error(`${executablePath} not found: the browser tests need Debian's Chromium (apt-get install chromium; .ci/run installs it)`);
    }
    const browser = await chromium.launch({ executablePath, headless: true, args: ARGS, timeout: LAUNCH_MS });
    try {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        context.setDefaultTimeout(ACTION_MS);
        context.setDefaultNavigationTimeout(ACTION_MS);
        const refused: string[] = [];
        await context.route("**/*", (route) => {
            const url = new URL(route.request().url());
            if (url.protocol === "data:" || url.protocol === "blob:" || url.hostname === "127.0.0.1") return route.continue();
            refused.push(url.href);
            return route.abort("blockedbyclient");
        });
        return { browser, context, refused, close: () => browser.close() };
    } catch (e) {
        await browser.close();
        throw e;
    }
}

/** A new page at url (which must be on 127.0.0.1), loaded. */
export async function open(b: LoopbackBrowser, url: string): Promise<Page> {
    if (new URL(url).hostname !== "127.0.0.1") throw new Error(`browser tests open 127.0.0.1 only, not ${url}`);
    const page = await b.context.newPage();
    const res = await page.goto(url, { waitUntil: "load" });
    if (!res || !res.ok()) throw new Error(`GET ${url}: ${res ? res.status() : "no response"}`);
    return page;
}

/** A full-page screenshot in artifacts/<name>; its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, name);
    await page.screenshot({ path: file, fullPage: true, timeout: ACTION_MS });
    return file;
}
