import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's root (the folder with its package.json), found from this file, so the construct works wherever
 * the app is run from: in this repository (lib/), or installed as a package and compiled (dist/lib/).
 */
export const PROJECT_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "lambda", "handler.ts")))
      return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, "..");
  }
}
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, "lambda", "handler.ts");
/** The webhook ingress's entry (lambda/ingress.ts), bundled the same way. */
export const INGRESS_ENTRY = path.join(PROJECT_ROOT, "lambda", "ingress.ts");
/** The puller's entry (lambda/puller.ts), bundled the same way. */
export const PULLER_ENTRY = path.join(PROJECT_ROOT, "lambda", "puller.ts");

/** The script that splits a bundle into its entry and lazily loaded chunks (see it for why it runs after bundling). */
export const SPLIT_BUNDLE_SCRIPT = path.join(PROJECT_ROOT, "bin", "split-bundle.mjs");

/**
 * How the handler is bundled, shared by the construct (NodejsFunction) and `npm run build` (plain esbuild) so
 * the size the benchmark reports is the size that is deployed: minified ESM for Node 24, source maps, and the
 * AWS SDK v3 left to the Lambda runtime, which ships it.
 */
export const BUNDLING = {
  target: "node24",
  format: "esm",
  minify: true,
  sourceMap: true,
  externalModules: ["@aws-sdk/*"],
  mainFields: ["module", "main"],
} as const;
