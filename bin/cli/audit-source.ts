import { readCvatTask, readLabelStudioProject, type SourceRead } from "../../lambda/audit/sources.js";
import { secureOrLoopback } from "../../lambda/loopback.js";
import { createJsonGetter } from "../../lambda/pull/edges.js";
import { progressCallback } from "./progress.js";
import { readBodies, readStdin } from "./send.js";

/** Where `clarifai-bridge audit` reads what the tool holds (its `--source`), with the tokens from the environment. */
export class SourceUsageError extends Error {}

/** A JSON-lines object in S3 (a Ground Truth output manifest where the labeling job wrote it). */
async function readS3Lines(
  url: string,
  endpoint?: string,
): Promise<Map<string, { origin: string; body: string }[]>> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new SourceUsageError("file:s3:// takes s3://BUCKET/KEY");
  const { GetObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
  const s3 = new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    const text = (await answer.Body?.transformToString("utf8")) ?? "";
    const lines = text
      .split("\n")
      .map((line, i) => ({ origin: `${url}:${i + 1}`, body: line.trim() }))
      .filter((b) => b.body.length > 0);
    return new Map([[url, lines]]);
  } finally {
    s3.destroy();
  }
}

/** The audit's source: `label-studio:PROJECT`, `cvat:TASK` (tokens from the environment) or `file:PATH`. */
export async function readSource(
  source: string,
  toolUrl: string | undefined,
  maxPages: number,
  attributes: readonly string[],
  endpoint?: string,
): Promise<SourceRead> {
  const match = /^(label-studio|cvat|file):(.+)$/.exec(source);
  if (!match) throw new SourceUsageError("--source takes label-studio:PROJECT, cvat:TASK or file:PATH");
  const [, tool, id] = match as unknown as [string, string, string];
  if (tool === "file") {
    const format = attributes.map((a) => /^format=(.+)$/.exec(a)?.[1]).find((f) => f !== undefined);
    const byFile = id.startsWith("s3://") ? await readS3Lines(id, endpoint) : await readBodies(id, readStdin);
    const bodies = [...byFile.values()].flat().map((b) => ({
      body: b.body,
      origin: b.origin,
      groupId: "default",
      ...(format ? { format } : {}),
    }));
    return { bodies, scope: "", complete: true, read: bodies.length, refused: [] };
  }
  if (!/^\d{1,12}$/.test(id)) throw new SourceUsageError(`--source ${tool}: the id is a number`);
  if (!toolUrl) throw new SourceUsageError(`--source ${tool} needs --tool-url`);
  let url: URL;
  try {
    url = new URL(toolUrl);
  } catch {
    throw new SourceUsageError(`--tool-url is not a URL`);
  }
  // The token travels with every request: as the puller requires, https, or plain http only to this machine.
  if (!secureOrLoopback(url))
    throw new SourceUsageError(
      "--tool-url must be https:// (http:// only to this machine: localhost, 127.0.0.1, [::1]); the token travels with every request",
    );
  const variable = tool === "cvat" ? "CVAT_TOKEN" : "LABEL_STUDIO_TOKEN";
  const token = process.env[variable]?.trim();
  if (!token) throw new SourceUsageError(`the ${tool} token comes from ${variable}: set it first`);
  const options = {
    getJson: createJsonGetter(5, 20_000),
    token,
    maxPages,
    onProgress: progressCallback(`${tool} read`),
  };
  return tool === "cvat"
    ? readCvatTask(toolUrl, Number(id), options)
    : readLabelStudioProject(toolUrl, Number(id), options);
}
