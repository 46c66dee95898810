// Over 300 lines: the fetching edge against real servers (answers, bounds, redirects, addresses, keys), sharing them.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { fetchMasks, MAX_MASK_FILE_BYTES, MAX_RECORD_MASK_BYTES } from "../../lambda/delivery/fetch-masks.js";
import { readBatch } from "../../lambda/delivery/read-batch.js";
import "../../lambda/events/all-adapters.js";
import type { FetchedMask, MaskRef } from "../../lambda/events/contract/mask-files.js";
import { type MaskFileServer, startMaskFileServer } from "../../local/mask-files.js";
import { labelboxComposite, scaleIndexed } from "../support/mask-files.js";
import { sqsRecord } from "../support/record.js";

/**
 * The edge that fetches mask files, over real HTTP: what each answer means (retried or refused), the byte bounds
 * (a declared length and a streamed body over the bound), a host that never answers, a redirect to another host
 * (which must not be sent the key), and a batch whose files take longer than the invocation's fetching time.
 */
const KEY = "lb-key-for-fetch-tests-0123456789";
let files: MaskFileServer;
let other: Server;
let otherUrl: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  files = await startMaskFileServer();
  files.files.set("/ok.png", { bytes: labelboxComposite(), key: KEY });
  files.files.set("/huge.png", { bytes: new Uint8Array(MAX_MASK_FILE_BYTES + 1) });
  // A second host: records the Authorization it gets, answers a redirect back, stalls, or streams without a length.
  other = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === "/redirect") return res.writeHead(302, { location: `${files.url}/scale.png` }).end();
    // Where a payload would like the bridge to go: the instance metadata service, the Lambda runtime API, a loop.
    if (req.url === "/to-metadata")
      return res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
    if (req.url === "/to-metadata-tls")
      return res.writeHead(307, { location: "https://169.254.169.254/latest/" }).end();
    if (req.url === "/to-runtime")
      return res
        .writeHead(302, { location: "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next" })
        .end();
    if (req.url === "/to-mapped")
      return res.writeHead(302, { location: "https://[::ffff:127.0.0.1]/x" }).end();
    if (req.url?.startsWith("/loop")) return res.writeHead(302, { location: `/loop${req.url.length}` }).end();
    if (req.url === "/stall" || req.url?.startsWith("/slow-")) return; // never answers
    if (req.url === "/stream") {
      res.writeHead(200, { "content-type": "image/png" }); // chunked: no Content-Length
      const chunk = new Uint8Array(1024 * 1024);
      let sent = 0;
      const more = () => {
        while (sent <= MAX_MASK_FILE_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once("drain", more);
        }
        res.end();
      };
      return more();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  files.files.set("/scale.png", { bytes: scaleIndexed() });
});
afterAll(async () => {
  other.closeAllConnections();
  await new Promise((resolve) => other.close(resolve));
  await files.close();
});

const labelbox = (path: string): MaskRef => ({ url: `${files.url}${path}`, source: "labelbox" });
const scale = (url: string): MaskRef => ({ url, source: "scale" });
const keyFor = async (source: string) => (source === "labelbox" ? KEY : undefined);
/** The file host stands in for Labelbox's API: the one origin the key may go to. */
const keyed = () => ({ keyFor, keyOrigins: [files.url] });
const codeOf = (m: FetchedMask | undefined) => (m && !m.ok ? `${m.failure.kind} ${m.failure.code}` : "ok");

describe("fetchMasks", () => {
  test("each answer's meaning: 200 read, 503 retried, 403 and 404 refused, no key refused before any request", async () => {
    files.failNext("/flaky.png", 503);
    const got = await fetchMasks(
      [labelbox("/ok.png"), labelbox("/ok.png"), labelbox("/flaky.png"), labelbox("/missing.png")],
      keyed(),
    );
    expect(got.size).toBe(3); // the same URL once
    expect([...got.values()].map(codeOf)).toEqual([
      "ok",
      "retryable mask-fetch-failed",
      "permanent mask-not-found",
    ]);
    const wrongKey = await fetchMasks([labelbox("/ok.png")], {
      keyFor: async () => "not-the-key-0123456789",
      keyOrigins: [files.url],
    });
    expect(codeOf(wrongKey.get(labelbox("/ok.png").url))).toBe("permanent mask-forbidden");
    const before = files.requests.length;
    const noKey = await fetchMasks([labelbox("/ok.png")], { keyOrigins: [files.url] });
    expect(codeOf(noKey.get(labelbox("/ok.png").url))).toBe("permanent mask-credentials-missing");
    expect(files.requests.length).toBe(before);
    for (const m of [...got.values(), ...wrongKey.values(), ...noKey.values()])
      if (!m.ok) expect(m.failure.reason).not.toContain(KEY);
  });

  test("a file over the bound is refused, by its declared length or while it streams", async () => {
    const got = await fetchMasks([scale(`${files.url}/huge.png`), scale(`${otherUrl}/stream`)], {});
    expect([...got.values()].map(codeOf)).toEqual(["permanent mask-too-large", "permanent mask-too-large"]);
  });

  test("a host that does not answer in time is retried later", async () => {
    const started = Date.now();
    const got = await fetchMasks([scale(`${otherUrl}/stall`)], { timeoutMs: 300 });
    expect(codeOf(got.get(`${otherUrl}/stall`))).toBe("retryable mask-fetch-failed");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("no file goes past the deadline: those begun are cut at it, the rest are not begun (both retried later)", async () => {
    const refs = [1, 2, 3, 4, 5, 6].map((i) => scale(`${otherUrl}/slow-${i}`));
    const started = Date.now();
    const got = await fetchMasks(refs, { deadline: started + 500 });
    // Four at a time: files 1-4 begin at once and are cut at the deadline; 5 and 6 find no time left.
    expect(refs.map((r) => codeOf(got.get(r.url)))).toEqual([
      ...Array(4).fill("retryable mask-fetch-failed"),
      ...Array(2).fill("retryable mask-not-fetched"),
    ]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test("a redirect to an allowed origin is followed, and the Labelbox key is not carried to another host", async () => {
    seen.length = 0;
    const ref: MaskRef = { url: `${otherUrl}/redirect`, source: "labelbox", allowed: [otherUrl, files.url] };
    const got = await fetchMasks([ref], { keyFor, keyOrigins: [otherUrl] });
    expect(codeOf(got.get(ref.url))).toBe("ok");
    expect(seen).toEqual([`Bearer ${KEY}`]); // the listed origin itself gets it
    const hop = files.requests.at(-1);
    expect(hop).toMatchObject({ path: "/scale.png", status: 200, authorization: undefined });
  });

  test("redirects to the metadata service, the runtime API, a mapped loopback or round a loop are refused by name", async () => {
    const refs = ["/to-metadata", "/to-metadata-tls", "/to-runtime", "/to-mapped", "/loop"].map(
      (p): MaskRef => ({
        url: `${otherUrl}${p}`,
        source: "scale",
        allowed: [otherUrl, "https://169.254.169.254"],
      }),
    );
    const got = await fetchMasks(refs, {});
    const reasons = refs.map((r) => {
      const m = got.get(r.url);
      return m && !m.ok ? `${m.failure.kind} ${m.failure.code}: ${m.failure.reason}` : "ok";
    });
    expect(reasons[0]).toMatch(
      /^permanent mask-fetch-refused: .*http:\/\/169\.254\.169\.254 is not fetched \(https:\/\/ only/,
    );
    // Listed on purpose, and still refused: the address is link-local, not public.
    expect(reasons[1]).toMatch(
      /^permanent mask-fetch-refused: .*169\.254\.169\.254 \(linkLocal\), which is not a public address/,
    );
    expect(reasons[2]).toMatch(
      /^permanent mask-fetch-refused: .*redirected to http:\/\/127\.0\.0\.1:9001, which the project's maskOrigins does not list/,
    );
    expect(reasons[3]).toMatch(/^permanent mask-fetch-refused: .*(not public|does not list)/);
    expect(reasons[4]).toMatch(/^permanent mask-fetch-refused: .*answered 302 more than 3 times/);
  });

  test("a host name that resolves inside (loopback, link-local, private) is refused before any request", async () => {
    const inside: Record<string, string[]> = {
      "masks.evil.example": ["127.0.0.1"],
      "metadata.evil.example": ["169.254.169.254"],
      "office.evil.example": ["93.184.216.34", "10.0.0.7"],
      "v6.evil.example": ["fd00::1"],
    };
    const lookup = async (host: string) => inside[host] ?? ["93.184.216.34"];
    const refs = Object.keys(inside).map((h): MaskRef => ({ url: `https://${h}/m.png`, source: "scale" }));
    const got = await fetchMasks(refs, {
      lookup,
      fetch: async () => Promise.reject(new Error("no request may be made")),
    });
    expect(
      refs.map((r) => {
        const m = got.get(r.url);
        return m && !m.ok ? `${m.failure.code} ${/\((\w+)\)/.exec(m.failure.reason)?.[1]}` : "ok";
      }),
    ).toEqual([
      "mask-fetch-refused loopback",
      "mask-fetch-refused linkLocal",
      "mask-fetch-refused private",
      "mask-fetch-refused uniqueLocal",
    ]);
    // A public address is requested (here, the stand-in fetch refuses: a retried connection failure, not a refusal).
    const pub = await fetchMasks([{ url: "https://masks.example.com/m.png", source: "scale" }], {
      lookup,
      fetch: async () => Promise.reject(new TypeError("fetch failed")),
    });
    expect(codeOf(pub.get("https://masks.example.com/m.png"))).toBe("retryable mask-fetch-failed");
  });

  test("a name whose answer changes after the check (DNS rebinding) is refused at the connection, by its own lookup", async () => {
    // The first answer (the check before the request) is public; every later one (the socket's own lookup, in
    // pinned-get.ts) is this machine, where a listening server would otherwise be reached.
    let asked = 0;
    const lookup = async () => (asked++ === 0 ? ["93.184.216.34"] : ["127.0.0.1"]);
    const port = (other.address() as AddressInfo).port;
    const ref: MaskRef = { url: `http://rebind.evil.example:${port}/anything.png`, source: "scale" };
    seen.length = 0;
    // http to a non-loopback name is refused by scheme before any lookup; https is what a listed origin uses.
    const tls: MaskRef = { url: `https://rebind.evil.example:${port}/anything.png`, source: "scale" };
    const got = await fetchMasks([ref, tls], { lookup });
    const m = got.get(tls.url);
    expect(m && !m.ok ? `${m.failure.kind} ${m.failure.code}` : "ok").toBe("permanent mask-fetch-refused");
    expect(m && !m.ok ? m.failure.reason : "").toMatch(
      /resolves to 127\.0\.0\.1 \(loopback\), which is not a public address/,
    );
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([]); // nothing reached this machine's server
    expect(codeOf(got.get(ref.url))).toBe("permanent mask-fetch-refused");
  });

  test("the Labelbox key goes to Labelbox's origin only, not to a second origin the project lists", async () => {
    seen.length = 0;
    files.files.set("/open.png", { bytes: labelboxComposite() });
    other.removeAllListeners("request");
    const refs: MaskRef[] = [
      { url: `${files.url}/ok.png`, source: "labelbox", allowed: [files.url, otherUrl] },
      { url: `${otherUrl}/anything.png`, source: "labelbox", allowed: [files.url, otherUrl] },
    ];
    other.on("request", (req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(302, { location: `${files.url}/open.png` }).end();
    });
    const got = await fetchMasks(refs, keyed());
    expect(refs.map((r) => codeOf(got.get(r.url)))).toEqual(["ok", "ok"]);
    expect(seen).toEqual([undefined]); // the second origin got no key
    // Sent on to Labelbox's own origin, the hop carries the key there: that origin is the one the key is for.
    expect(files.requests.filter((r) => r.path === "/open.png").map((r) => r.authorization)).toEqual([
      `Bearer ${KEY}`,
    ]);
    expect(files.requests.filter((r) => r.path === "/ok.png").at(-1)?.authorization).toBe(`Bearer ${KEY}`);
  });

  test("one record's files are bounded in all: the file that passes the bound fails the record", async () => {
    const twelve = new Uint8Array(12 * 1024 * 1024);
    for (const name of ["a", "b", "c"]) files.files.set(`/twelve-${name}.png`, { bytes: twelve });
    const refs = ["a", "b", "c"].map((n) => scale(`${files.url}/twelve-${n}.png`));
    const got = await fetchMasks(refs, {});
    // 12 + 12 MiB fit the 32 MiB; the third brings it to 36.
    expect(3 * twelve.length).toBeGreaterThan(MAX_RECORD_MASK_BYTES);
    expect([...got.values()].map(codeOf).sort()).toEqual(["ok", "ok", "permanent mask-too-large"]);
  });
});

describe("readBatch with mask files", () => {
  test("records are fetched one at a time; those the invocation's fetching time does not reach wait (retryable)", async () => {
    const body = (i: number) => {
      const c = JSON.parse(readFileSync("test/fixtures/upstream/scale-segmentannotation.json", "utf8"));
      c.task.task_id = `t-${i}`;
      c.response.annotations.combined.indexedImage = `${files.url}/scale.png`;
      c.task.response = c.response;
      return JSON.stringify(c);
    };
    const order: number[] = [];
    const records = [0, 1, 2, 3].map((i) => sqsRecord(body(i), i));
    const read = await readBatch(
      records,
      {
        taskLink: "both",
        defaultApp: null,
        upstream: { projects: { "scale:street-seg": { taskId: "t", maskOrigins: [files.url] } } },
        // Each record's fetch takes 1 s; the invocation has 6 s, so fetching may take 3 s, and a record is begun only
        // with at least 1 s of that left: the first two are fetched (begun at about 0 and 1 s), the third would begin
        // at about 2 s with under 1 s left and waits, and so does the fourth.
        fetchMasks: async (refs, ms) => {
          order.push(ms);
          await new Promise((r) => setTimeout(r, 1_000));
          return fetchMasks(refs, {});
        },
        remainingMs: () => 6_000,
      },
      (t) => t,
    );
    expect(read.map((r) => (r.parsed.ok ? "ok" : r.parsed.failure.code))).toEqual([
      "ok",
      "ok",
      "mask-not-fetched",
      "mask-not-fetched",
    ]);
    expect(order).toHaveLength(2);
    expect(order[0]).toBeLessThanOrEqual(3_000); // each fetch is given at most the time left for fetching
  });

  test("whatever the fetching edge throws fails that record (retried), never the batch; a fractional time is no error", async () => {
    const c = JSON.parse(readFileSync("test/fixtures/upstream/scale-segmentannotation.json", "utf8"));
    c.response.annotations.combined.indexedImage = `${files.url}/scale.png`;
    c.task.response = c.response;
    const options = {
      taskLink: "both" as const,
      defaultApp: null,
      upstream: { projects: { "scale:street-seg": { taskId: "t", maskOrigins: [files.url] } } },
    };
    const broken = await readBatch(
      [
        sqsRecord(JSON.stringify(c), 0),
        sqsRecord(readFileSync("examples/events/01-street-audit-tree.json", "utf8"), 1),
      ],
      {
        ...options,
        fetchMasks: async () => {
          throw new RangeError("something odd in the edge");
        },
      },
      (t) => t,
    );
    expect(
      broken.map((r) => (r.parsed.ok ? "ok" : `${r.parsed.failure.kind} ${r.parsed.failure.code}`)),
    ).toEqual(["retryable mask-fetch-failed", "ok"]);
    // Lambda's remaining time is whole milliseconds, a local clock's need not be: either is a fine time limit.
    const fine = await fetchMasks([scale(`${files.url}/scale.png`)], {
      timeoutMs: 1234.56,
      deadline: Date.now() + 999.5,
    });
    expect(codeOf(fine.get(`${files.url}/scale.png`))).toBe("ok");
  });
});
