import type { IncomingMessage } from "node:http";
import type { Faults } from "./clarifai-stand-in.js";

/** The stand-in's plumbing: fault defaults, routing and body reading. */

/** No faults: a healthy, instant Clarifai. */
export const defaultFaults = (): Faults => ({
  latencyMs: 0,
  jitterMs: 0,
  throttleAboveRps: undefined,
  retryAfterSeconds: undefined,
  serverErrorRate: 0,
  dropConnectionRate: 0,
  slowRate: 0,
  slowMs: 0,
  mixedTransientRate: 0,
  script: [],
  codesAsNames: false,
});

export type Route =
  | { op: "post"; app?: { userId: string; appId: string } }
  | { op: "list"; app?: { userId: string; appId: string } }
  | { op: "get"; app?: { userId: string; appId: string }; inputId: string; annotationId: string };

export function matchRoute(method: string, path: string): Route | "method" | undefined {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let app: { userId: string; appId: string } | undefined;
  let rest = parts;
  if (parts[0] === "v2" && parts[1] === "users" && parts[3] === "apps" && parts.length >= 5) {
    app = { userId: parts[2] as string, appId: parts[4] as string };
    rest = ["v2", ...parts.slice(5)];
  }
  if (rest.length === 2 && rest[1] === "annotations") {
    if (method === "POST") return { op: "post", ...(app ? { app } : {}) };
    if (method === "GET") return { op: "list", ...(app ? { app } : {}) };
    return "method";
  }
  if (rest.length === 5 && rest[1] === "inputs" && rest[3] === "annotations") {
    return method === "GET"
      ? { op: "get", inputId: rest[2] as string, annotationId: rest[4] as string, ...(app ? { app } : {}) }
      : "method";
  }
  return undefined;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
