import "../../lambda/events/all-adapters.js"; // validates any tool's bodies
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { type MappingConfig, mappingConfigSchema } from "../../lambda/events/contract/mapping-config.js";
import { EMPTY_MAPPING } from "../../lambda/events/contract/mapping-defaults.js";
import { jsonErrorPlace, UsageError } from "./args.js";
import type { Progress } from "./progress.js";

/** One message body and where it came from (`file` or `file:line`). */
export interface Body {
  readonly origin: string;
  readonly body: string;
}

export interface FileProblem {
  readonly origin: string;
  readonly reason: string;
}

/**
 * Reads events from a file, a folder (its *.json, *.jsonl and *.manifest files) or "-" (standard input). A `.json`
 * file is one message; a `.jsonl` file, a Ground Truth `.manifest` or standard input is one message per non-empty
 * line.
 */
export async function readBodies(source: string, stdin: () => Promise<string>): Promise<Map<string, Body[]>> {
  const byFile = new Map<string, Body[]>();
  if (source === "-") {
    byFile.set("stdin", lines("stdin", await stdin()));
    return byFile;
  }
  const info = await stat(source);
  const files = info.isDirectory()
    ? (await readdir(source))
        .filter((f) => f.endsWith(".json") || f.endsWith(".jsonl") || f.endsWith(".manifest"))
        .sort()
        .map((f) => path.join(source, f))
    : [source];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    // A Ground Truth output manifest (`output.manifest`) is JSON lines too.
    const perLine = file.endsWith(".jsonl") || file.endsWith(".manifest");
    byFile.set(file, perLine ? lines(file, text) : [{ origin: file, body: text }]);
  }
  return byFile;
}

function lines(origin: string, text: string): Body[] {
  return text
    .split("\n")
    .map((line, i) => ({ origin: `${origin}:${i + 1}`, body: line.trim() }))
    .filter((b) => b.body.length > 0);
}

/**
 * Validates with the Lambda's own parser. A file with any invalid message sends nothing, so a half-sent file
 * never needs untangling. A message whose masks are kept in files (a Ground Truth segmentation, a Scale
 * segmentation, Labelbox masks) is checked in everything but the files, which only the handler fetches (with the
 * Labelbox key and the function's S3 grant, from the project's `maskOrigins`): it is valid here and named in
 * `filesUnchecked`; a file that cannot be read is then the handler's dead letter, with its reason.
 */
export function validateFiles(
  byFile: ReadonlyMap<string, Body[]>,
  upstream: MappingConfig = EMPTY_MAPPING,
  attributes: Readonly<Record<string, string>> = {},
): { valid: Body[]; problems: FileProblem[]; filesUnchecked: string[] } {
  const valid: Body[] = [];
  const problems: FileProblem[] = [];
  const filesUnchecked: string[] = [];
  for (const bodies of byFile.values()) {
    const unchecked: string[] = [];
    const fileProblems = bodies.flatMap((b) => {
      const parsed = parseRecord(b.body, {
        taskLink: "both",
        defaultApp: null,
        upstream,
        attributes,
      });
      if (parsed.ok) return [];
      // Everything was read but the mask files it points at (and those are allowed by maskOrigins: an origin the
      // mapping does not list is refused before this, by name).
      if (parsed.failure.code === "mask-not-fetched" && (parsed.needs?.length ?? 0) > 0) {
        unchecked.push(b.origin);
        return [];
      }
      return [{ origin: b.origin, reason: `${parsed.failure.code}: ${parsed.failure.reason}` }];
    });
    if (fileProblems.length > 0) problems.push(...fileProblems);
    else {
      valid.push(...bodies);
      filesUnchecked.push(...unchecked);
    }
  }
  return { valid, problems, filesUnchecked };
}

/** Sends with SendMessageBatch, ten at a time; returns the entries SQS refused, with its reason. */
export async function sendBodies(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly Body[],
  progress?: Progress,
  messageGroupId?: (body: Body) => string,
  attributes: Readonly<Record<string, string>> = {},
): Promise<FileProblem[]> {
  const messageAttributes = Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
  );
  const failed: FileProblem[] = [];
  const fifo = queueUrl.endsWith(".fifo");
  for (let i = 0; i < bodies.length; i += 10) {
    const slice = bodies.slice(i, i + 10);
    try {
      const answer = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: slice.map((b, j) => ({
            Id: String(j),
            MessageBody: b.body,
            ...(Object.keys(messageAttributes).length > 0 ? { MessageAttributes: messageAttributes } : {}),
            ...(fifo ? { MessageGroupId: messageGroupId?.(b) ?? "default" } : {}),
          })),
        }),
      );
      for (const f of answer.Failed ?? []) {
        failed.push({ origin: slice[Number(f.Id)]?.origin ?? "?", reason: `${f.Code}: ${f.Message ?? ""}` });
      }
    } catch (error) {
      for (const b of slice) failed.push({ origin: b.origin, reason: (error as Error).message });
    }
    progress?.update(Math.min(i + 10, bodies.length), bodies.length);
  }
  progress?.finish();
  return failed;
}

/**
 * For FIFO queues: one message group per upstream annotation (its base annotation id), as the webhook ingress
 * does, so the create, updates and delete of one annotation stay in order (deletes often carry no input id, so
 * the input id cannot be the group). A body that does not parse goes to group "default".
 */
export function annotationGroup(
  upstream: MappingConfig,
  attributes: Readonly<Record<string, string>> = {},
): (body: Body) => string {
  return (body) => {
    const parsed = parseRecord(body.body, {
      taskLink: "both",
      defaultApp: null,
      upstream,
      attributes,
    });
    if (!parsed.ok) return "default";
    return (
      parsed.changes[0]?.baseId ??
      parsed.deliveries[0]?.baseId ??
      parsed.deliveries[0]?.annotation.id ??
      "default"
    );
  };
}

/** The mapping the Lambda would use, from a file (`--mapping`) or BRIDGE_MAPPING, so validation matches it. */
export async function loadMapping(file: string | undefined): Promise<MappingConfig> {
  const where = file ?? "BRIDGE_MAPPING";
  let text: string | undefined;
  try {
    text = file ? await readFile(file, "utf8") : process.env.BRIDGE_MAPPING;
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(
      `the mapping file ${file} cannot be read${code === "ENOENT" ? ": there is no such file" : code ? ` (${code})` : ""}`,
    );
  }
  if (!text) return EMPTY_MAPPING;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const place = jsonErrorPlace(text, error);
    throw new UsageError(
      `the mapping ${file ? `file ${file}` : where} is not JSON${place ? ` (${place})` : ""}: ${(error as Error).message}`,
    );
  }
  const parsed = mappingConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new UsageError(
      `invalid mapping in ${where}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

/** Standard input, whole, as text (`-` as a source). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
