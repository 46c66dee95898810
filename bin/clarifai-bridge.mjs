#!/usr/bin/env node
// The package's bin: the compiled CLI (dist/bin/cli.js, built by `npm run build:lib` and shipped in the package),
// or, in a checkout without that build, the TypeScript source through tsx (a dev dependency).
import { existsSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const args = process.argv.slice(2);

/**
 * `import` reads files of any size for minutes: it runs in a worker thread whose V8 young generation is held to a
 * few megabytes, so the process stays near 150 MB whatever the file (V8's defaults let it grow to 240-330 MB with
 * most of it garbage not yet collected: bench/RESULTS.md, "Import"). What the worker prints goes through this
 * thread in order (a worker's own stdout can lose its last lines when it ends), and its exit code is the
 * process's. `CLARIFAI_BRIDGE_IMPORT_IN_PROCESS=1` runs it in this thread instead.
 */
const YOUNG_GENERATION_MB = 6;

if (isMainThread && args[0] === "import" && !process.env.CLARIFAI_BRIDGE_IMPORT_IN_PROCESS) {
  const worker = new Worker(new URL(import.meta.url), {
    argv: args,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, maxOldGenerationSizeMb: 256 },
    workerData: {
      tty: { 1: process.stdout.isTTY === true, 2: process.stderr.isTTY === true },
      columns: process.stderr.columns,
    },
  });
  let code = 1;
  worker.on("message", (message) => {
    if (typeof message?.exit === "number") code = message.exit;
    else if (message?.fd === 1) process.stdout.write(message.chunk);
    else if (message?.fd === 2) process.stderr.write(message.chunk);
  });
  worker.on("error", (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    code = 1;
  });
  worker.on("exit", () => process.exit(code));
} else {
  if (!isMainThread && parentPort) {
    const port = parentPort;
    for (const [fd, stream] of [
      [1, process.stdout],
      [2, process.stderr],
    ]) {
      stream.write = (chunk, encoding, done) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
        port.postMessage({ fd, chunk: text });
        (typeof encoding === "function" ? encoding : done)?.();
        return true;
      };
      if (workerData?.tty?.[fd]) {
        stream.isTTY = true;
        stream.columns = workerData.columns;
      }
    }
  }
  const compiled = new URL("../dist/bin/cli.js", import.meta.url);
  let runCli;
  if (existsSync(compiled)) ({ runCli } = await import(compiled.href));
  else {
    const { register } = await import("tsx/esm/api");
    register();
    ({ runCli } = await import("./cli.ts"));
  }
  const code = await runCli(args);
  if (isMainThread) process.exit(code);
  // The exit code after everything printed (one port, in order); the main thread ends the process on it.
  parentPort?.postMessage({ exit: code });
  process.exit(code);
}
