import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";

/**
 * A Lambda function URL on loopback: each HTTP request becomes the event AWS would build (raw path, lower-case
 * headers, the body base64-encoded as function URLs send binary-safe bodies) and the handler's result becomes the
 * answer. Lets the webhook ingress be called over real HTTP with real headers in tests and local runs.
 */
export type FunctionUrlHandler = (
  event: LambdaFunctionURLEvent,
  context: Context,
) => Promise<LambdaFunctionURLResult>;

export async function startFunctionUrl(
  handler: FunctionUrlHandler,
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  let counter = 0;
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://function-url");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks); // the exact bytes: Labelbox signs them
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
    const requestId = `local-${++counter}`;
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      isBase64Encoded: true,
      body: body.toString("base64"),
      requestContext: {
        http: {
          method: req.method ?? "GET",
          path: url.pathname,
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: headers["user-agent"] ?? "",
        },
        requestId,
        timeEpoch: Date.now(),
      },
    } as unknown as LambdaFunctionURLEvent;
    const context = {
      awsRequestId: requestId,
      functionName: "webhook-ingress",
      getRemainingTimeInMillis: () => 10_000,
    } as unknown as Context;
    try {
      const result = await handler(event, context);
      // A function URL answers a bare string as a 200 JSON body.
      const full = typeof result === "string" ? { statusCode: 200, body: result } : result;
      res.writeHead(full.statusCode ?? 200, (full.headers ?? {}) as Record<string, string>);
      res.end(full.body ?? "");
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `the function failed: ${(error as Error).message}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
