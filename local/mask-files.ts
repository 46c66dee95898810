import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for the hosts that keep the tools' mask files (Labelbox's `api.labelbox.com/api/v1/.../mask` URLs,
 * Scale's result images), over real HTTP: files by path, a bearer key required where the file says so (Labelbox:
 * 401 without it, 403 with another, as its API answers), scripted failures, and every request recorded with the
 * Authorization header it carried, so a test can see which host was sent which key.
 */
export interface MaskFile {
  readonly bytes: Uint8Array;
  /** The `Authorization: Bearer <key>` this file needs. @default none */
  readonly key?: string;
}

export interface MaskFileServer {
  readonly url: string;
  readonly files: Map<string, MaskFile>;
  readonly requests: { path: string; status: number; authorization: string | undefined }[];
  /** The next `n` requests for this path answer `status` (with `Retry-After: 1` for 429 and 503). */
  failNext(path: string, status: number, n?: number): void;
  /** Requests for these paths are accepted and never answered (a host that hangs). */
  readonly stalled: Set<string>;
  close(): Promise<void>;
}

export async function startMaskFileServer(): Promise<MaskFileServer> {
  const files = new Map<string, MaskFile>();
  const requests: MaskFileServer["requests"] = [];
  const failures: { path: string; status: number; left: number }[] = [];
  const stalled = new Set<string>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://local").pathname;
    const authorization = req.headers.authorization;
    const answer = (status: number, body: Uint8Array | string, headers: Record<string, string> = {}) => {
      requests.push({ path, status, authorization });
      res.writeHead(status, headers).end(body);
    };
    if (stalled.has(path)) {
      requests.push({ path, status: 0, authorization });
      return;
    }
    const failure = failures.find((f) => f.left > 0 && f.path === path);
    if (failure) {
      failure.left -= 1;
      return answer(failure.status, "scripted failure", { "retry-after": "1" });
    }
    const file = files.get(path);
    if (!file) return answer(404, "not found");
    if (file.key && !authorization) return answer(401, "missing API key");
    if (file.key && authorization !== `Bearer ${file.key}`) return answer(403, "forbidden");
    return answer(200, file.bytes, { "content-type": "image/png" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    failNext(path, status, n = 1) {
      failures.push({ path, status, left: n });
    },
    stalled,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
