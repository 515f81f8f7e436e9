// The CLI's two output forms: JSON for scripts (stdout, one document), tables for people.
import Table from "cli-table3";

export interface Column<T> {
    header: string;
    value: (row: T) => string | number | undefined;
    align?: "left" | "right";
}

// No borders: rows read like `docker ps`, and copy-paste cleanly.
const PLAIN = {
    top: "", "top-mid": "", "top-left": "", "top-right": "",
    bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
    left: "", "left-mid": "", mid: "", "mid-mid": "",
    right: "", "right-mid": "", middle: "   ",
};

/** A table of rows under upper-case headers; missing values print as "-". */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
    const t = new Table({
        head: columns.map((c) => c.header.toUpperCase()),
        chars: PLAIN,
        style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
        colAligns: columns.map((c) => c.align ?? "left"),
    });
    for (const row of rows) {
        t.push(
            columns.map((c) => {
                const v = c.value(row);
                return v === undefined || v === "" ? "-" : String(v);
            }),
        );
    }
    // cli-table3 pads the last column too: trailing blanks are noise in a terminal and in diffs.
    return t
        .toString()
        .split("\n")
        .map((l) => l.trimEnd())
        .join("\n");
}

/** Bytes in binary units, as docker prints memory: "64.0MiB". */
export function bytes(n: number | undefined): string | undefined {
    if (n === undefined || !Number.isFinite(n)) return undefined;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${v}B` : `${v.toFixed(1)}${units[i]}`;
}

export function percent(n: number | undefined, digits = 1): string | undefined {
    return n === undefined || !Number.isFinite(n) ? undefined : `${n.toFixed(digits)}%`;
}

export function fixed(n: number | undefined, digits = 1): string | undefined {
    return n === undefined || !Number.isFinite(n) ? undefined : n.toFixed(digits);
}

/** "used / total (p%)". */
export function usage(used: number | undefined, total: number | undefined): string | undefined {
    if (used === undefined || total === undefined || !(total > 0)) return undefined;
    return `${bytes(used)} / ${bytes(total)} (${((100 * used) / total).toFixed(0)}%)`;
}

/** The JSON document of a command: stable key order as built, two-space indent, final newline. */
export function json(value: unknown): string {
    return `${JSON.stringify(value, null, 2)}\n`;
}
