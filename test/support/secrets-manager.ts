import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A minimal Secrets Manager on loopback: answers `GetSecretValue` (the AWS JSON 1.1 protocol the real SDK speaks)
 * for one secret, with whatever text a test stores, or `ResourceNotFoundException` while it is unavailable. Point
 * the SDK at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
export interface LocalSecretsManager {
  readonly url: string;
  /** The secret's text; `undefined` makes every read fail (a deleted secret, a denied read). */
  value: string | undefined;
  /** GetSecretValue calls answered so far. */
  readonly calls: () => number;
  close(): Promise<void>;
}

export async function startSecretsManager(secretId: string, value?: string): Promise<LocalSecretsManager> {
  let calls = 0;
  const state: { value: string | undefined } = { value };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      calls += 1;
      const target = req.headers["x-amz-target"];
      const { SecretId } = JSON.parse(body || "{}") as { SecretId?: string };
      if (state.value === undefined || target !== "secretsmanager.GetSecretValue" || SecretId !== secretId) {
        res.writeHead(400, { "Content-Type": "application/x-amz-json-1.1" });
        res.end(
          JSON.stringify({
            __type: "ResourceNotFoundException",
            message: "Secrets Manager can't find the specified secret.",
          }),
        );
        return;
      }
      res.writeHead(200, { "Content-Type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ ARN: secretId, Name: "secret", SecretString: state.value, VersionId: "v1" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get value() {
      return state.value;
    },
    set value(v) {
      state.value = v;
    },
    calls: () => calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
