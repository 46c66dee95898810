import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { BUNDLING, HANDLER_ENTRY, INGRESS_ENTRY, PROJECT_ROOT, PULLER_ENTRY } from "../lib/bundling.js";

/**
 * `npm run build`: bundles the handler (and the webhook ingress and the puller) exactly as the CDK construct does (same esbuild
 * settings, from lib/bundling.ts) into dist/<name>/index.mjs, and prints their sizes.
 */
export async function buildHandler(
  outdir = path.join(PROJECT_ROOT, "dist", "handler"),
  entry = HANDLER_ENTRY,
  /** Off only for profiling (bench/profile.ts), so functions keep their names; the construct always minifies. */
  minify: boolean = BUNDLING.minify,
): Promise<{ file: string; bytes: number; contributors: Contributor[] }> {
  await mkdir(outdir, { recursive: true });
  const file = path.join(outdir, "index.mjs");
  const result = await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: "node",
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify,
    sourcemap: BUNDLING.sourceMap,
    external: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    logLevel: "warning",
    metafile: true,
  });
  const inputs = Object.values(result.metafile.outputs).flatMap((o) => Object.entries(o.inputs));
  return { file, bytes: (await stat(file)).size, contributors: contributors(inputs) };
}

/** What one package (or one folder of our own code) puts into a bundle, minified. */
export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

/**
 * Bundle bytes by package (`@scope/name` under node_modules) or, for our own code, by folder (`lambda/events`),
 * largest first: esbuild's metafile, summed.
 */
export function contributors(inputs: [string, { bytesInOutput: number }][]): Contributor[] {
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of inputs) {
    const modules = input.lastIndexOf("node_modules/");
    let name: string;
    if (modules >= 0) {
      const parts = input.slice(modules + "node_modules/".length).split("/");
      name = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
    } else {
      const parts = input.split("/");
      name = parts.length > 2 ? parts.slice(0, 2).join("/") : (parts[0] ?? input);
    }
    sums.set(name, (sums.get(name) ?? 0) + bytesInOutput);
  }
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const [name, entry] of [
    ["handler", HANDLER_ENTRY],
    ["ingress", INGRESS_ENTRY],
    ["puller", PULLER_ENTRY],
  ] as const) {
    const { file, bytes } = await buildHandler(path.join(PROJECT_ROOT, "dist", name), entry);
    console.log(
      `${path.relative(process.cwd(), file)}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB) minified`,
    );
  }
}
