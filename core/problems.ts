// Bad input is reported all at once, each problem naming where it is and how to fix it.

export interface Problem {
    /** `matrix:applications[1].replicas`, or `applications.plan:3`. */
    where: string;
    message: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: Problem[]) {
        super(
            `invalid matrix configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); ` +
                "nothing was changed:\n" +
                problems.map((p) => `  ${p.where}: ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Formats a config key path: ["applications", 1, "replicas"] -> `matrix:applications[1].replicas`. */
export function keyPath(namespace: string, path: ReadonlyArray<PropertyKey>): string {
    let out = namespace;
    path.forEach((seg, i) => {
        if (typeof seg === "number") out += `[${seg}]`;
        else out += i === 0 ? `:${String(seg)}` : `.${String(seg)}`;
    });
    return out;
}

/** Collects problems (once each) so that validation can go on and report them all together. */
export class Problems {
    private readonly list: Problem[] = [];

    report(where: string, message: string): void {
        if (!this.list.some((p) => p.where === where && p.message === message)) this.list.push({ where, message });
    }

    /** Adds problems found elsewhere (plan file, port assignment). */
    add(problems: Problem[]): void {
        problems.forEach((p) => this.report(p.where, p.message));
    }

    /** Stops before anything is built from invalid input. */
    throwIfAny(): void {
        if (this.list.length) throw new ConfigError(this.list);
    }
}
