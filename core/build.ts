// What an image build is made of, beyond its context directory: the images it starts FROM.
import { DockerfileParser } from "dockerfile-ast";

/**
 * The base images a Dockerfile builds on, with its ARGs resolved (build args override the
 * defaults declared before the first FROM); earlier stages and `scratch` are not images.
 */
export function baseImages(dockerfile: string, buildArgs: Record<string, string>): string[] {
    const parsed = DockerfileParser.parse(dockerfile);
    const args: Record<string, string> = {};
    const firstFrom = parsed.getFROMs()[0]?.getRange().start.line ?? Infinity;
    for (const arg of parsed.getARGs()) {
        if (arg.getRange().start.line > firstFrom) continue;
        const p = arg.getProperty();
        if (p?.getName()) args[p.getName()] = p.getValue() ?? "";
    }
    Object.assign(args, buildArgs);
    const stages = new Set<string>();
    const images: string[] = [];
    for (const from of parsed.getFROMs()) {
        const image = (from.getImage() ?? "").replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? "");
        if (image && image !== "scratch" && !stages.has(image.toLowerCase()) && !images.includes(image)) images.push(image);
        const stage = from.getBuildStage();
        if (stage) stages.add(stage.toLowerCase());
    }
    return images;
}
