#!/usr/bin/env node
// The package's bin: runs the TypeScript CLI through tsx (installed with the project's dev dependencies).
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("./cli.ts");
process.exit(await runCli(process.argv.slice(2)));
