// The monitor's status page (monitor/page/index.html) as a browser shows it: what its DOM says
// about hosts, apps, replicas and charts. Shared by the page's unit test and its lab test.
import { Page } from "playwright-core";

// readPage's callback runs in the page; the project compiles without the DOM library.
declare const document: any;

export interface PageView {
    /** The status the page last rendered (#updated's data-generated-at), "" before any. */
    generatedAt: string;
    hosts: { name: string; state: string; cells: string[]; error: string }[];
    apps: { name: string; version: string; image: string; healthy: string; requestsPerSecond: number }[];
    replicas: { app: string; node: string; health: string; nodeUp: boolean; text: string }[];
    /** uPlot's canvases (one per chart), CSS pixels. */
    charts: { id: string; title: string; width: number; height: number }[];
    text: string;
}

/** One reading of the page's DOM. */
export function readPage(page: Page): Promise<PageView> {
    return page.evaluate(() => {
        const cells = (tr: any): string[] => [...tr.querySelectorAll("td")].map((td: any) => (td.textContent ?? "").trim());
        const rows = (sel: string): any[] => [...document.querySelectorAll(sel)];
        return {
            generatedAt: document.getElementById("updated").dataset.generatedAt ?? "",
            hosts: rows("#hosts tbody tr").map((tr) => ({
                name: tr.dataset.host ?? "",
                state: tr.dataset.state ?? "",
                cells: cells(tr),
                error: tr.querySelector("td[title]")?.getAttribute("title") ?? "",
            })),
            // An app's first replica row carries its name, version (image on hover) and healthy count.
            apps: rows("#apps tbody tr").filter((tr) => tr.querySelector("td.version")).map((tr) => ({
                name: tr.dataset.app ?? "",
                version: (tr.querySelector("td.version")?.textContent ?? "").trim(),
                image: tr.querySelector("td.version")?.getAttribute("title") ?? "",
                healthy: cells(tr)[2],
                requestsPerSecond: Number(cells(tr)[3]), // NaN while unknown ("–")
            })),
            replicas: rows("#apps tbody tr").map((tr) => ({
                app: tr.dataset.app ?? "",
                node: tr.dataset.node ?? "",
                health: tr.dataset.health ?? "",
                nodeUp: tr.dataset.nodeUp === "true",
                text: (tr.textContent ?? "").trim(),
            })),
            charts: rows(".charts > div").map((div) => {
                const canvas = div.querySelector("canvas");
                const r = canvas?.getBoundingClientRect();
                return { id: div.id, title: (div.querySelector(".u-title")?.textContent ?? "").trim(), width: r?.width ?? 0, height: r?.height ?? 0 };
            }),
            text: document.body.innerText,
        };
    });
}

/** Read the page every 250 ms until ok holds; the view and the seconds it took. Throws, with the last view, after `seconds`. */
export async function waitForPage(page: Page, what: string, ok: (v: PageView) => boolean, seconds: number): Promise<{ view: PageView; after: number }> {
    const t0 = Date.now();
    let last: PageView | undefined;
    while (Date.now() - t0 < seconds * 1000) {
        last = await readPage(page);
        if (ok(last)) return { view: last, after: (Date.now() - t0) / 1000 };
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`status page: ${what}: not within ${seconds} s; the page showed:\n${last?.text.slice(0, 3000)}`);
}
