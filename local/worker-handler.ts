import path from "node:path";
import { Worker } from "node:worker_threads";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { build } from "esbuild";
import { BUNDLING, PROJECT_ROOT } from "../lib/bundling.js";
import type { InvokeMessage, InvokeReply } from "./handler-worker.js";

/**
 * The handler as Lambda runs it: in an execution environment of its own (a worker thread with its own module
 * state and environment variables, loading the bundled handler), one invocation at a time, and really stopped
 * when an invocation is killed or passes its timeout: the worker is terminated, and with it every request it
 * still had in flight. The next invocation starts a fresh environment (a cold start). JavaScript cannot stop a
 * running promise; terminating its thread can.
 */
export interface IsolatedHandler {
  readonly isolated: true;
  /** Runs one invocation; rejects if the environment fails to start or the invocation is killed. */
  invoke(event: SQSEvent, deadline: number, requestId: string): Promise<SQSBatchResponse | undefined>;
  /** Stops the running invocation now, as Lambda's timeout does: the environment is thrown away. */
  kill(): Promise<void>;
  /** Ends the environment (at the end of a run). */
  close(): Promise<void>;
}

export interface WorkerHandlerOptions {
  /** The function's environment variables (the handler reads its configuration at cold start). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Discard what the function prints (its logs and the metrics library's warnings). @default false */
  readonly quiet?: boolean;
}

const WORKER_FILE = path.join(PROJECT_ROOT, "dist", "local", "handler-worker.mjs");
let bundled: Promise<string> | undefined;

/**
 * Bundles the worker entry with the handler once per process, with the deployed bundle's settings (the AWS SDK
 * left external, found in the project's node_modules as the runtime provides it), unminified for readable traces.
 */
export function bundleWorker(): Promise<string> {
  bundled ??= build({
    entryPoints: [path.join(PROJECT_ROOT, "local", "handler-worker.ts")],
    outfile: WORKER_FILE,
    bundle: true,
    platform: "node",
    target: BUNDLING.target,
    format: "esm",
    external: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    // Packages that `require` Node built-ins need a `require` in an ESM bundle.
    banner: {
      js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
    logLevel: "warning",
  }).then(() => WORKER_FILE);
  return bundled;
}

export async function createWorkerHandler(options: WorkerHandlerOptions): Promise<IsolatedHandler> {
  const file = await bundleWorker();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  // Jest's flags (VM modules) are not for the worker.
  delete env.NODE_OPTIONS;

  let worker: Worker | undefined;
  let next = 0;
  const pending = new Map<
    number,
    { resolve: (r: SQSBatchResponse | undefined) => void; reject: (e: Error) => void }
  >();
  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const start = (): Worker => {
    const quiet = options.quiet ?? false;
    const w = new Worker(file, { env, stdout: quiet, stderr: quiet });
    if (quiet) {
      w.stdout.resume();
      w.stderr.resume();
    }
    w.on("message", (reply: InvokeReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if ("error" in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.response);
    });
    w.on("error", (error) => {
      if (worker === w) worker = undefined;
      failAll(error);
    });
    w.on("exit", () => {
      if (worker === w) worker = undefined;
      failAll(new Error("the execution environment stopped"));
    });
    w.unref();
    return w;
  };
  const stop = async () => {
    const w = worker;
    worker = undefined;
    failAll(new Error("invocation killed"));
    if (w) await w.terminate();
  };
  return {
    isolated: true,
    invoke(event, deadline, requestId) {
      worker ??= start();
      const id = ++next;
      const message: InvokeMessage = { id, event, deadline, requestId };
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker?.postMessage(message);
      });
    },
    kill: stop,
    close: stop,
  };
}
