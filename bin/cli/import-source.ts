import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import StreamArray from "stream-json/streamers/StreamArray.js";
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

export type SourceKind = "label-studio-export" | "lines";

/** The kind of a source file: `.json` is a Label Studio export, anything else one body per line. */
export const sourceKind = (file: string, given?: string): SourceKind =>
  given === "label-studio-export" || (given === undefined && file.endsWith(".json"))
    ? "label-studio-export"
    : "lines";

export async function* readImportSource(
  file: string,
  kind: SourceKind,
  project?: number,
  /** Bytes of the file read so far (a little ahead of the items: the stream's buffer), for an ETA. */
  position: { bytes: number } = { bytes: 0 },
): AsyncGenerator<ImportItem> {
  let n = 0;
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
