import type { IncomingMessage } from "node:http";
import type { Faults } from "./types.js";

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

type AppPath = { app?: { userId: string; appId: string } };
export type Route =
  | ({ op: "post" | "list" | "patch" | "delete-many" } & AppPath)
  | ({ op: "get" | "delete-one"; inputId: string; annotationId: string } & AppPath)
  | ({ op: "get-task"; taskId: string } & AppPath);

/** The annotation routes of ../shared/clarifai-api.md, in both URL forms (PAT with user and app, or app key). */
export function matchRoute(method: string, path: string): Route | "method" | undefined {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let app: { userId: string; appId: string } | undefined;
  let rest = parts;
  if (parts[0] === "v2" && parts[1] === "users" && parts[3] === "apps" && parts.length >= 5) {
    app = { userId: parts[2] as string, appId: parts[4] as string };
    rest = ["v2", ...parts.slice(5)];
  }
  const where = app ? { app } : {};
  if (rest.length === 2 && rest[1] === "annotations") {
    const op = ({ POST: "post", GET: "list", PATCH: "patch", DELETE: "delete-many" } as const)[
      method as "POST" | "GET" | "PATCH" | "DELETE"
    ];
    return op ? { op, ...where } : "method";
  }
  if (rest.length === 3 && rest[1] === "tasks") {
    return method === "GET" ? { op: "get-task", taskId: rest[2] as string, ...where } : "method";
  }
  if (rest.length === 5 && rest[1] === "inputs" && rest[3] === "annotations") {
    const one = { inputId: rest[2] as string, annotationId: rest[4] as string, ...where };
    if (method === "GET") return { op: "get", ...one };
    if (method === "DELETE") return { op: "delete-one", ...one };
    return "method";
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
