import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { createClarifaiClient, parseRetryAfter } from "../../lambda/clarifai/client.js";
import { type ClarifaiStandIn, startClarifaiStandIn } from "../../local/clarifai/stand-in.js";

const KEY = "pat-7e0b-SECRET-never-in-errors";
let standIn: ClarifaiStandIn;
beforeAll(async () => {
  standIn = await startClarifaiStandIn({ personalAccessTokens: { [KEY]: "u" } });
});
afterAll(() => standIn.close());

const annotation = {
  id: "a1",
  input_id: "i1",
  task_id: "t",
  annotation_info: { task_id: "t" },
  data: { concepts: [{ id: "c", value: 1 }] },
};

test("the key goes only into the Authorization header, and no failure message quotes it", async () => {
  const ok = await createClarifaiClient(standIn.url, KEY).postAnnotations(
    { userId: "u", appId: "a" },
    [annotation],
    2_000,
  );
  expect(ok).toMatchObject({ kind: "response", httpStatus: 200 });

  // A closed port, a timeout, a cut connection: each failure is described without the key.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const refused = await createClarifaiClient(`http://127.0.0.1:${port}`, KEY).postAnnotations(
    null,
    [annotation],
    1_000,
  );
  standIn.faults.latencyMs = 500;
  const timedOut = await createClarifaiClient(standIn.url, KEY).postAnnotations(
    { userId: "u", appId: "a" },
    [annotation],
    50,
  );
  standIn.faults.latencyMs = 0;
  standIn.faults.script.push("drop");
  const dropped = await createClarifaiClient(standIn.url, KEY).postAnnotations(
    { userId: "u", appId: "a" },
    [annotation],
    1_000,
  );

  expect(refused).toMatchObject({ kind: "transport", timedOut: false });
  expect(timedOut).toMatchObject({ kind: "transport", timedOut: true });
  expect(dropped).toMatchObject({ kind: "transport" });
  for (const result of [refused, timedOut, dropped]) expect(JSON.stringify(result)).not.toContain(KEY);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  expect(parseRetryAfter("7")).toBe(7);
  expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
  expect(parseRetryAfter("soon")).toBeUndefined();
  expect(parseRetryAfter(null)).toBeUndefined();
});

/** An HTTP server that answers the first request on each connection and cuts any later one on it. */
async function cutsReusedConnections() {
  const seen = new Map<unknown, number>();
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const n = (seen.get(req.socket) ?? 0) + 1;
    seen.set(req.socket, n);
    req.resume();
    // As a server that closed an idle keep-alive connection while the client was frozen and could not notice.
    if (n > 1) req.socket.destroy();
    else res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":{"code":10000}}');
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test("a connection pool left idle is closed before the next request, which opens a new connection", async () => {
  const server = await cutsReusedConnections();
  const client = createClarifaiClient(server.url, KEY, { idlePoolMs: 1_000 });
  try {
    expect(await client.postAnnotations(null, [annotation], 2_000)).toMatchObject({ httpStatus: 200 });
    await new Promise((r) => setTimeout(r, 1_300)); // longer than idlePoolMs: as between two far-apart invocations
    expect(await client.postAnnotations(null, [annotation], 2_000)).toMatchObject({ httpStatus: 200 });
    expect(server.connections()).toBe(2);
    // Within idlePoolMs the pooled connection is reused: here the server cuts it, and that is a transport error
    // (retried through SQS like any other), not an answer.
    expect(await client.postAnnotations(null, [annotation], 2_000)).toMatchObject({ kind: "transport" });
    expect(server.connections()).toBe(2);
  } finally {
    client.close();
    await server.close();
  }
});
