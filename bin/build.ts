import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { BUNDLING, HANDLER_ENTRY, PROJECT_ROOT } from "../lib/bundling.js";

/**
 * `npm run build`: bundles the handler exactly as the CDK construct does (same esbuild settings, from
 * lib/bundling.ts) into dist/handler/index.mjs, and prints its size.
 */
export async function buildHandler(
  outdir = path.join(PROJECT_ROOT, "dist", "handler"),
): Promise<{ file: string; bytes: number }> {
  await mkdir(outdir, { recursive: true });
  const file = path.join(outdir, "index.mjs");
  await build({
    entryPoints: [HANDLER_ENTRY],
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
  const { file, bytes } = await buildHandler();
  console.log(
    `${path.relative(process.cwd(), file)}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB) minified`,
  );
}
