import type { SQSRecord } from "aws-lambda";
import type { MappingOptions } from "../clarifai/to-annotation.js";
import type { MappingConfig } from "../events/adapters/mapping-config.js";
import { loadAdapters } from "../events/adapters/registry.js";
import { type Failure, permanent } from "../failure.js";
import { type Scrub, safeError } from "../redact.js";
import { type ParsedRecord, parseRead, readBody } from "./parse-record.js";

/** A record of the batch, read: what it asks of Clarifai, or why it cannot be delivered. */
export interface ReadRecord {
  readonly record: SQSRecord;
  readonly receiveCount: number;
  readonly parsed: ParsedRecord;
}

/**
 * A batch's records read in two halves: each body as far as its format, then the adapters those formats need
 * loaded (the first record of a format loads its adapter; a failed load throws, and the batch is retried), then
 * each mapped. Whatever a record makes the readers throw is that record's permanent failure, never the batch's.
 */
export async function readBatch(
  records: readonly SQSRecord[],
  options: MappingOptions & { readonly upstream: MappingConfig },
  scrub: Scrub,
): Promise<ReadRecord[]> {
  const unreadable = (error: unknown): { readonly ok: false; readonly failure: Failure } => ({
    ok: false,
    failure: permanent("adapter-error", `could not read this message: ${safeError(error, scrub).message}`),
  });
  const read = records.map((record) => {
    try {
      const attributes = stringAttributes(record);
      return { record, attributes, body: readBody(record.body, { attributes }) };
    } catch (error) {
      return { record, attributes: {}, body: unreadable(error) };
    }
  });
  await loadAdapters(read.map(({ body }) => (body.ok ? body.format : undefined)));
  return read.map(({ record, attributes, body }) => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? "1") || 1;
    try {
      const sent = Number(record.attributes.SentTimestamp);
      return {
        record,
        receiveCount,
        parsed: parseRead(body, {
          taskLink: options.taskLink,
          defaultApp: options.defaultApp,
          upstream: options.upstream,
          attributes,
          receivedAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : new Date(),
        }),
      };
    } catch (error) {
      return { record, receiveCount, parsed: unreadable(error) };
    }
  });
}

/** The record's string message attributes, by name. */
function stringAttributes(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {}))
    if (typeof value?.stringValue === "string") out[name] = value.stringValue;
  return out;
}
