#!/usr/bin/env node
// The package's bin: the compiled CLI (dist/bin/cli.js, built by `npm run build:lib` and shipped in the package),
// or, in a checkout without that build, the TypeScript source through tsx (a dev dependency).
import { existsSync } from "node:fs";

const compiled = new URL("../dist/bin/cli.js", import.meta.url);
let runCli;
if (existsSync(compiled)) ({ runCli } = await import(compiled.href));
else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ runCli } = await import("./cli.ts"));
}
process.exit(await runCli(process.argv.slice(2)));
