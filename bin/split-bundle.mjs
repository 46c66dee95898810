#!/usr/bin/env node
/**
 * Bundles a Lambda entry with esbuild's code splitting: `index.mjs` (what the cold start loads) plus a chunk per
 * dynamic `import()` (the upstream adapters, loaded on the first record of their format). NodejsFunction bundles
 * to a single `--outfile`, and esbuild splits only into an `--outdir`, so the construct runs this after its own
 * bundling (an `afterBundling` command hook) to replace that file with the split output in the same asset folder;
 * `npm run build` calls the same function (bin/build.ts), with the settings of lib/bundling.ts. Usage:
 *   node bin/split-bundle.mjs <entry.ts> <outdir> <base64 JSON of lib/bundling.ts's BUNDLING>
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Writes `<outdir>/index.mjs` and `<outdir>/chunks/*.mjs`; returns esbuild's metafile. */
export async function splitBundle(entry, outdir, settings) {
  // NodejsFunction's single-file output goes: the split one takes its place.
  for (const name of await readdir(outdir).catch(() => []))
    if (/^index\.mjs(\.map)?$/.test(name) || name === "chunks")
      await rm(path.join(outdir, name), { recursive: true, force: true });
  const result = await build({
    entryPoints: { index: entry },
    outdir,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    target: settings.target,
    minify: settings.minify,
    sourcemap: settings.sourceMap,
    external: settings.externalModules,
    mainFields: settings.mainFields,
    metafile: true,
    logLevel: "warning",
  });
  return result.metafile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, outdir, encoded] = process.argv.slice(2);
  if (!entry || !outdir || !encoded) {
    console.error("usage: split-bundle.mjs <entry> <outdir> <base64 settings>");
    process.exit(2);
  }
  await splitBundle(entry, outdir, JSON.parse(Buffer.from(encoded, "base64").toString("utf8")));
}
