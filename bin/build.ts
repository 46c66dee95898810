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
): Promise<{ file: string; bytes: number }> {
  await mkdir(outdir, { recursive: true });
  const file = path.join(outdir, "index.mjs");
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: "node",
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    external: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    logLevel: "warning",
  });
  return { file, bytes: (await stat(file)).size };
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
