// The seed's `applications.plan`: one replica per line, `app node external_port internal_port`,
// separated by tabs or spaces; `#` starts a comment. Errors carry the file name and line number.
import { nameProblem } from "./formats";
import { Problem } from "./problems";

export interface PlanLine {
    line: number;
    app: string;
    node: string;
    hostPort: number;
    containerPort: number;
}

function port(text: string): number | undefined {
    if (!/^\d+$/.test(text)) return undefined;
    const n = Number(text);
    return n >= 1 && n <= 65535 ? n : undefined;
}

export function parsePlan(text: string, file: string): { lines: PlanLine[]; problems: Problem[] } {
    const lines: PlanLine[] = [];
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    text.split(/\r?\n/).forEach((raw, i) => {
        const line = i + 1;
        const where = `${file}:${line}`;
        const fields = raw.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
        if (fields.length === 0) return;
        if (fields.length !== 4) {
            problems.push({ where, message: `expected 4 fields "app node external_port internal_port", got ${fields.length}: "${raw.trim()}"` });
            return;
        }
        const [app, node, ext, int] = fields;
        const bad: string[] = [];
        const appProblem = nameProblem(app);
        const nodeProblem = nameProblem(node);
        if (appProblem) bad.push(`app name "${app}" ${appProblem}`);
        if (nodeProblem) bad.push(`node name "${node}" ${nodeProblem}`);
        const hostPort = port(ext);
        const containerPort = port(int);
        if (hostPort === undefined) bad.push(`external_port "${ext}" must be an integer 1-65535`);
        if (containerPort === undefined) bad.push(`internal_port "${int}" must be an integer 1-65535`);
        if (bad.length) {
            problems.push({ where, message: bad.join("; ") });
            return;
        }
        const key = `${app}@${node}`;
        if (seen.has(key)) {
            problems.push({ where, message: `app "${app}" is already placed on node "${node}" at line ${seen.get(key)}; one replica per node` });
            return;
        }
        seen.set(key, line);
        lines.push({ line, app, node, hostPort: hostPort!, containerPort: containerPort! });
    });
    return { lines, problems };
}
