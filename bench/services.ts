import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { LOCAL_PAT, LOCAL_USER, startLocalEnvironment } from "../local/environment.js";

/**
 * The benchmark's other process: the Clarifai stand-in (latency, jitter, optional rate limit) and the embedded SQS
 * server, so their CPU never counts against the handler being measured. Prints one JSON line with its addresses,
 * then serves `GET /stats` and `POST /reset` on a small admin port until killed.
 */
const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "50" },
    jitter: { type: "string", default: "10" },
    "rate-limit": { type: "string" },
    "visibility-timeout": { type: "string", default: "5" },
  },
});

const env = await startLocalEnvironment({
  maxReceiveCount: 1000, // the benchmark counts retries; it never wants SQS to give up on a message
  visibilityTimeoutSeconds: Number(values["visibility-timeout"]),
  standIn: {
    personalAccessTokens: { [LOCAL_PAT]: LOCAL_USER },
    faults: {
      latencyMs: Number(values.latency),
      jitterMs: Number(values.jitter),
      throttleAboveRps: values["rate-limit"] ? Number(values["rate-limit"]) : undefined,
    },
  },
});
const standIn = env.standIn;
if (!standIn) throw new Error("no stand-in");

const admin = createServer((req, res) => {
  if (req.url === "/reset" && req.method === "POST") {
    standIn.requests.length = 0;
    standIn.reset();
    Object.assign(standIn.faults, {
      latencyMs: Number(values.latency),
      jitterMs: Number(values.jitter),
      throttleAboveRps: values["rate-limit"] ? Number(values["rate-limit"]) : undefined,
    });
    env.sqsServer.reset();
    res.end("{}");
    return;
  }
  if (req.url === "/arrivals") {
    // When each event's annotation reached the stand-in (created_at), for end-to-end latency.
    const arrivals = standIn.annotations().map((a) => {
      const annotation = a.annotation as { annotation_info?: { event_id?: string }; created_at?: string };
      return {
        eventId: annotation.annotation_info?.event_id ?? "",
        at: Date.parse(annotation.created_at ?? ""),
      };
    });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(arrivals));
    return;
  }
  const posts = standIn.requests.filter((r) => r.method === "POST");
  const q = env.sqsServer.inspectQueue(env.queueName);
  res.setHeader("Content-Type", "application/json");
  res.end(
    JSON.stringify({
      requests: standIn.requests.length,
      posts: posts.length,
      postMsTotal: posts.reduce((n, r) => n + r.ms, 0),
      throttled: standIn.requests.filter((r) => r.httpStatus === 429).length,
      annotations: standIn.annotations().length,
      queue: {
        ready: q?.messages.ready.length ?? 0,
        inflight: q?.messages.inflight.length ?? 0,
        delayed: q?.messages.delayed.length ?? 0,
      },
      deadLettered: env.sqsServer.inspectQueue(env.dlqName)?.messages.ready.length ?? 0,
    }),
  );
});
await new Promise<void>((r) => admin.listen(0, "127.0.0.1", r));
console.log(
  JSON.stringify({
    clarifai: standIn.url,
    admin: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
    sqsEndpoint: env.sqsServer.address,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    dlqUrl: env.dlqUrl,
  }),
);
process.on("SIGTERM", () => {
  void env.close().then(() => process.exit(0));
});
