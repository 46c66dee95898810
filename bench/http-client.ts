import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { clarifaiCall } from "../lambda/clarifai/client.js";

/**
 * `npx tsx bench/http-client.ts`: CPU per Clarifai request, Node's fetch against the bridge's client (node:http
 * with a keep-alive agent), each posting 100 annotations to a local server that answers at once, client and server
 * in this one process (the server's share is the same for both). Figures, not assertions; the source of the
 * numbers in lambda/clarifai/client.ts.
 */
const answer = JSON.stringify({
  status: { code: 10000 },
  annotations: Array.from({ length: 100 }, (_, i) => ({ id: `a${i}`, status: { code: 24150 } })),
});
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(answer));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const body = {
  annotations: Array.from({ length: 100 }, (_, i) => ({
    id: `ann-${i}`,
    input_id: `in-${i}`,
    data: { concepts: [{ id: "tree", value: 1 }] },
  })),
};
const viaFetch = async () => {
  const response = await fetch(`${base}/v2/annotations`, {
    method: "POST",
    headers: { Authorization: "Key k", "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  JSON.parse(await response.text());
};
const call = clarifaiCall(base, "k");
const viaClient = async () => {
  await call("POST", "/v2/annotations", body, 5_000);
};

async function measure(name: string, send: () => Promise<void>, requests = 3_000): Promise<void> {
  for (let i = 0; i < 300; i++) await send(); // warm-up: JIT and connections
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < requests; i++) await send();
  const used = process.cpuUsage(cpu);
  console.log(
    `${name.padEnd(26)} ${((used.user + used.system) / requests).toFixed(0)} µs CPU per request, ${((performance.now() - started) / requests).toFixed(2)} ms each`,
  );
}
for (let round = 1; round <= 2; round++) {
  await measure(`fetch (round ${round})`, viaFetch);
  await measure(`node:http (round ${round})`, viaClient);
}
server.close();
