import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root and the handler's entry, so the construct works wherever the app is run from. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, "lambda", "handler.ts");
/** The webhook ingress's entry (lambda/ingress.ts), bundled the same way. */
export const INGRESS_ENTRY = path.join(PROJECT_ROOT, "lambda", "ingress.ts");

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
