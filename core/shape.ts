// Wording of shape problems (zod issues) in the project's own words: every message says what the
// value must be, with the expected type, never a library's text or a pattern. schema.ts gives
// messages of its own where a generic one would not say how to fix the value.
import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

/** How a value is spoken of: one ("a name like ...") and many ("names"), for lists and records. */
interface Noun {
    one: string;
    many: string;
}

const nouns = new WeakMap<Schema, Noun>();

/** Gives a schema the words its type errors (and lists of it) use. */
export function named<T extends Schema>(schema: T, one: string, many: string): T {
    nouns.set(schema, { one, many });
    return schema;
}

/** The schema inside optional/default/prefault wrappers. */
function unwrap(s: Schema): Schema {
    const def = s._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (def.innerType && ["optional", "default", "prefault", "nullable", "readonly", "nonoptional", "catch"].includes(def.type)) return unwrap(def.innerType);
    if (def.type === "pipe" && def.in) return unwrap(def.in);
    return s;
}

/** Keys of an object schema, in declaration order. */
export function objectKeys(s: Schema): string[] {
    const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, Schema>; options?: Schema[] };
    if (def.type === "union") return [...new Set(def.options!.flatMap(objectKeys))];
    return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** What a value of this schema is, in words ("a list of names", "an object with keys a, b"). */
export function describe(schema: Schema, many = false): string {
    const s = unwrap(schema);
    const noun = nouns.get(s) ?? nouns.get(schema);
    if (noun) return many ? noun.many : noun.one;
    const def = s._zod.def as any;
    const a = (one: string, several: string) => (many ? several : one);
    switch (def.type) {
        case "string":
            return a("a string", "strings");
        case "number":
            return /int/.test(def.format ?? "") ? a("a whole number", "whole numbers") : a("a number", "numbers");
        case "boolean":
            return a("true or false", "true or false values");
        case "object":
            return `${a("an object", "objects")} with keys ${objectKeys(s).join(", ")}`;
        case "array":
            return `${a("a list", "lists")} of ${describe(def.element, true)}`;
        case "record":
            return `${a("an object", "objects")} mapping ${describe(def.keyType, true)} to ${describe(def.valueType, true)}`;
        case "union":
            return (def.options as Schema[]).map((o) => describe(o, many)).join(" or ");
        case "enum":
            return `one of ${Object.values(def.entries as Record<string, string>).map((v) => JSON.stringify(v)).join(", ")}`;
        case "literal":
            return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(" or ");
        default:
            return a("a value", "values");
    }
}

/** Bounds as a person writes them: "must be ≥ 1", "must not be empty", "must list at most 3 items". */
function boundMessage(iss: { code: "too_small" | "too_big"; origin: string; inclusive?: boolean; minimum?: unknown; maximum?: unknown }): string {
    const small = iss.code === "too_small";
    const n = Number(small ? iss.minimum : iss.maximum);
    if (iss.origin === "string") return small ? (n <= 1 ? "must not be empty" : `must be at least ${n} characters long`) : `must be at most ${n} characters long`;
    if (iss.origin === "array" || iss.origin === "set") return small ? (n <= 1 ? "must not be empty" : `must list at least ${n} items`) : `must list at most ${n} items`;
    return `must be ${small ? (iss.inclusive === false ? ">" : "≥") : iss.inclusive === false ? "<" : "≤"} ${n}`;
}

/**
 * The error map every shape check runs with: the words for an issue whose schema gives none.
 * (A message a schema states itself takes precedence, as zod applies the map only to the rest.)
 */
export const shapeWords: z.core.$ZodErrorMap = (iss) => {
    // Type and union issues come from a schema (other issues, from one of its checks).
    const inst = iss.inst as Schema | undefined;
    switch (iss.code) {
        case "invalid_type":
            if (iss.expected === "int") return "must be a whole number";
            return inst ? `must be ${describe(inst)}` : `must be ${iss.expected === "array" ? "a list" : `a ${iss.expected}`}`;
        case "too_small":
        case "too_big":
            return boundMessage(iss as Parameters<typeof boundMessage>[0]);
        case "invalid_value":
            return iss.values.length === 1 ? `must be ${JSON.stringify(iss.values[0])}` : `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "invalid_union":
            return inst ? `must be ${describe(inst)}` : "has the wrong form";
        case "unrecognized_keys":
            return "unknown key";
        case "invalid_format":
            return `is not a valid ${iss.format}`;
        case "not_multiple_of":
            return `must be a multiple of ${iss.divisor}`;
        default:
            return "has the wrong form";
    }
};

/**
 * The known word closest to `word`, when it is plausibly a misspelling of it: the same but for
 * case, or at most a third of its letters (and at least 2) edited away.
 */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
    if (!known.length) return undefined;
    const sameButCase = known.find((k) => k.toLowerCase() === word.toLowerCase());
    if (sameButCase) return sameButCase;
    const best = closest(word, known as string[]);
    return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** "did you mean "x"?", or the list of keys allowed here. */
export function unknownKeyHint(key: string, known: readonly string[]): string {
    const guess = didYouMean(key, known);
    return guess ? `unknown key; did you mean "${guess}"?` : `unknown key; the keys here are ${known.join(", ")}`;
}

/** The schema of the value at `path` below `schema` (through unions: the option that has that key). */
function schemaAt(schema: Schema, path: readonly PropertyKey[]): Schema | undefined {
    let s: Schema | undefined = schema;
    for (const seg of path) {
        if (!s) return undefined;
        s = step(unwrap(s), seg);
    }
    return s;
}

function step(s: Schema, seg: PropertyKey): Schema | undefined {
    const def = s._zod.def as any;
    if (def.type === "object") return def.shape[seg as string];
    if (def.type === "array") return typeof seg === "number" ? def.element : undefined;
    if (def.type === "record") return def.valueType;
    if (def.type === "union") for (const o of def.options as Schema[]) if (step(unwrap(o), seg)) return step(unwrap(o), seg);
    return undefined;
}

/** Where and what: one shape problem, its path relative to the key's schema. */
export interface ShapeProblem {
    path: PropertyKey[];
    message: string;
}

/**
 * The problems of one failed shape check, one per mistake: an unknown key each (with a guess at
 * what was meant), a missing value as "is required", and of a union whose value has the form of
 * exactly one option, that option's own problems (else the union's message).
 */
export function shapeProblems(schema: Schema, issues: readonly Issue[], base: PropertyKey[] = []): ShapeProblem[] {
    const out: ShapeProblem[] = [];
    // A misspelled key also leaves the key it meant missing: one mistake, reported once (as the misspelling).
    const meant = new Set<string>();
    for (const issue of issues)
        if (issue.code === "unrecognized_keys") {
            const known = objectKeys(schemaAt(schema, [...base, ...issue.path]) ?? schema);
            for (const k of issue.keys) meant.add(JSON.stringify([...base, ...issue.path, didYouMean(k, known)]));
        }
    // A value of the wrong type is one mistake: its bounds (zod checks "" against an array's min) are not another.
    const wrongType = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => JSON.stringify(i.path)));
    for (const issue of issues) {
        const path = [...base, ...issue.path];
        if (issue.code !== "invalid_type" && wrongType.has(JSON.stringify(issue.path))) continue;
        if (issue.code === "unrecognized_keys") {
            const known = objectKeys(schemaAt(schema, path) ?? schema);
            for (const k of issue.keys) out.push({ path: [...path, k], message: unknownKeyHint(k, known) });
        } else if (issue.input === undefined && meant.has(JSON.stringify(path))) {
            continue;
        } else if (issue.code === "invalid_union" && chosenOption(issue)) {
            const [option, optionIssues] = chosenOption(issue)!;
            const union = unwrap(schemaAt(schema, path) ?? schema)._zod.def as { options?: Schema[] };
            out.push(...shapeProblems(union.options?.[option] ?? schema, optionIssues, []).map((p) => ({ path: [...path, ...p.path], message: p.message })));
        } else if (issue.code === "invalid_key") {
            for (const inner of issue.issues) out.push({ path, message: inner.message });
        } else if ((issue.code === "invalid_type" || issue.code === "invalid_union") && issue.input === undefined) {
            out.push({ path, message: `is required: ${issue.message.replace(/^must be /, "")}` });
        } else out.push({ path, message: issue.message });
    }
    return out;
}

/** The one option of a union whose form the value has (its problems are deeper inside), if exactly one. */
function chosenOption(issue: z.core.$ZodIssueInvalidUnion): [number, Issue[]] | undefined {
    const wrongForm = (issues: Issue[]) => issues.some((i) => i.path.length === 0 && (i.code === "invalid_type" || i.code === "invalid_value"));
    const fitting = issue.errors.map((e, i) => [i, e] as [number, Issue[]]).filter(([, e]) => !wrongForm(e));
    return fitting.length === 1 && issue.input !== undefined ? fitting[0] : undefined;
}
