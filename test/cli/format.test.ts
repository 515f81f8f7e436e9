import { bytes, json, percent, table, usage } from "../../cli/format";

describe("tables", () => {
    test("upper-case headers, aligned columns, '-' for missing values, no trailing blanks", () => {
        const rows = [{ host: "node1", cpu: 12.5 }, { host: "manager", cpu: undefined }];
        const text = table(rows, [{ header: "host", value: (r) => r.host }, { header: "cpu", value: (r) => r.cpu, align: "right" }]);
        expect(text.split("\n")).toEqual(["HOST       CPU", "node1     12.5", "manager      -"]);
    });

    test("no rows: the headers alone", () => {
        expect(table([], [{ header: "name", value: () => "x" }])).toBe("NAME");
    });

    test("units", () => {
        expect(bytes(0)).toBe("0B");
        expect(bytes(64 * 1024 * 1024)).toBe("64.0MiB");
        expect(bytes(undefined)).toBeUndefined();
        expect(percent(4.567)).toBe("4.6%");
        expect(usage(2 * 1024 ** 3, 8 * 1024 ** 3)).toBe("2.0GiB / 8.0GiB (25%)");
        expect(usage(1, 0)).toBeUndefined();
    });
});

test("JSON: one document that parses back, ending in a newline", () => {
    const text = json({ a: [1, { b: "c" }] });
    expect(text.endsWith("}\n")).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: [1, { b: "c" }] });
});
