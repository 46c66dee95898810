import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import StreamArray from "stream-json/streamers/StreamArray.js";
import { cvatTaskJobs, type GetJson, labelStudioProjectPages } from "../../lambda/audit/sources.js";
import { taskBodies } from "../../lambda/pull/label-studio-reconcile.js";

/**
 * What `clarifai-bridge import` reads, one item at a time whatever the file's size: a JSON array (read by
 * stream-json): Label Studio's export, its tasks' annotations each as the body Label Studio reconciliation queues,
 * or any other array, each element a body (Scale callbacks, Labelbox rows, canonical events); a JSON file of one
 * object, one body; or a file of one body per line (a Labelbox export v2 NDJSON, a Ground Truth output manifest,
 * Scale callbacks, canonical events). Items are numbered in file order, so a checkpoint is a number.
 */
export interface ImportItem {
  /** 0-based position in the source: a checkpoint says how many are done. */
  readonly n: number;
  readonly origin: string;
  readonly body: string;
  /** A body that could not be made from the source (a line that is not JSON is still a body: the parser says why). */
  readonly refused?: string;
}

export type SourceKind = "label-studio-export" | "lines" | "s3-lines" | "label-studio-api" | "cvat-api";

/** Where a source that is not a local file is read: the tool's server and token, or S3's endpoint. */
export interface RemoteSource {
  /** The Label Studio or CVAT server (`--tool-url`). */
  readonly toolUrl?: string;
  /** Its token (LABEL_STUDIO_TOKEN, CVAT_TOKEN). */
  readonly token?: string;
  /** The GET the puller uses (retries, size bound, same-origin redirects only). */
  readonly getJson?: GetJson;
  /** S3's endpoint (local runs; path-style). @default the AWS SDK's */
  readonly s3Endpoint?: string;
}

/** Whether a source is a file on this machine (its size gives the ETA). */
export const isFileKind = (kind: SourceKind) => kind === "label-studio-export" || kind === "lines";

/**
 * The kind of a source: `label-studio:PROJECT` and `cvat:TASK` are read from the tool's API, `s3://BUCKET/KEY` is
 * one body per line (a Ground Truth output manifest where the job wrote it); of a file, `.json` is a Label Studio
 * export, anything else one body per line.
 */
export const sourceKind = (source: string, given?: string): SourceKind => {
  if (given === undefined && /^label-studio:\d+$/.test(source)) return "label-studio-api";
  if (given === undefined && /^cvat:\d+$/.test(source)) return "cvat-api";
  if (given === undefined && source.startsWith("s3://")) return "s3-lines";
  return given === "label-studio-export" || (given === undefined && source.endsWith(".json"))
    ? "label-studio-export"
    : "lines";
};

export async function* readImportSource(
  file: string,
  kind: SourceKind,
  project?: number,
  /**
   * Bytes of the source read so far (a little ahead of the items: the stream's buffer), and its size where the
   * reader learns it (an S3 object's), for an ETA.
   */
  position: { bytes: number; total?: number } = { bytes: 0 },
  remote: RemoteSource = {},
): AsyncGenerator<ImportItem> {
  let n = 0;
  if (kind === "label-studio-api" || kind === "cvat-api") {
    const id = Number(file.split(":")[1]);
    const { toolUrl, token, getJson } = remote;
    if (!toolUrl || !token || !getJson) throw new Error(`${file} needs the tool's URL and token`);
    const options = { getJson, token };
    const pages =
      kind === "cvat-api"
        ? cvatTaskJobs(toolUrl, id, options)
        : labelStudioProjectPages(toolUrl, id, options);
    // A page (or a CVAT job) at a time: what the tool holds is never all in memory.
    for await (const page of pages) {
      for (const r of page.refused) yield { n: n++, origin: r.origin, body: "", refused: r.reason };
      for (const b of page.bodies) yield { n: n++, origin: b.origin, body: b.body };
    }
    return;
  }
  if (kind === "s3-lines") {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(file);
    if (!match) throw new Error(`${file} is not s3://BUCKET/KEY`);
    const { GetObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
    const s3 = new S3Client(remote.s3Endpoint ? { endpoint: remote.s3Endpoint, forcePathStyle: true } : {});
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
      if (answer.ContentLength !== undefined) position.total = answer.ContentLength;
      const body = answer.Body as Readable;
      body.on("data", (chunk: Buffer) => {
        position.bytes += chunk.length;
      });
      // Line by line as the object streams in: a manifest of any size is never whole in memory.
      const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
      let line = 0;
      for await (const text of lines) {
        line += 1;
        const trimmed = text.trim();
        if (trimmed.length > 0) yield { n: n++, origin: `${file}:${line}`, body: trimmed };
      }
    } finally {
      s3.destroy();
    }
    return;
  }
  const stream = (encoding?: BufferEncoding) => {
    const input = createReadStream(file, encoding);
    input.on("data", (chunk) => {
      position.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    });
    return input;
  };
  if (kind === "lines") {
    const lines = createInterface({ input: stream("utf8"), crlfDelay: Number.POSITIVE_INFINITY });
    let line = 0;
    for await (const text of lines) {
      line += 1;
      const body = text.trim();
      if (body.length === 0) continue;
      yield { n: n++, origin: `${file}:${line}`, body };
    }
    return;
  }
  // A JSON file that is one object, not an array: one body (at most what one message may be).
  if ((await firstCharacter(file)) === "{") {
    const text = await readFile(file, "utf8");
    yield text.length > 1_048_576
      ? { n: n++, origin: file, body: "", refused: "one JSON object of more than 1 MiB: not a message" }
      : { n: n++, origin: file, body: text };
    return;
  }
  const tasks = stream().pipe(StreamArray.withParser());
  for await (const { key, value } of tasks as AsyncIterable<{ key: number; value: unknown }>) {
    const task = value as Record<string, unknown> | null;
    const where = `${file}[${key}]`;
    if (task === null || typeof task !== "object" || Array.isArray(task)) {
      yield { n: n++, origin: where, body: "", refused: "not a Label Studio task (an object)" };
      continue;
    }
    // An array of anything else (Scale callbacks, Labelbox rows, canonical events): each element one body.
    if (!("data" in task && Array.isArray(task.annotations))) {
      yield { n: n++, origin: where, body: JSON.stringify(task) };
      continue;
    }
    // An export's task names its project; --project says it for an export that does not.
    const projectId = project ?? Number(task.project);
    if (!Number.isSafeInteger(projectId)) {
      yield { n: n++, origin: where, body: "", refused: "the task names no project: give --project" };
      continue;
    }
    const made = taskBodies(task, undefined, projectId);
    for (const reason of made.refused) yield { n: n++, origin: where, body: "", refused: reason };
    for (const body of made.bodies)
      yield { n: n++, origin: `${where} task ${String(task.id).slice(0, 32)}`, body };
  }
}

/** The file's first character that is not white space ("" for an empty file). */
async function firstCharacter(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4_096), 0, 4_096, 0);
    return buffer.subarray(0, bytesRead).toString("utf8").trimStart().charAt(0);
  } finally {
    await handle.close();
  }
}
