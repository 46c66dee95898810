import type { SQSRecord } from "aws-lambda";
import type { MappingOptions } from "../clarifai/to-annotation.js";
import type { MappingConfig } from "../events/adapters/mapping-config.js";
import type { FetchedMask, MaskRef } from "../events/adapters/mask-refs.js";
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
  options: MappingOptions & {
    readonly upstream: MappingConfig;
    /** Fetches the mask files records point at (fetch-masks.ts); without it such records wait (retryable). */
    readonly fetchMasks?: (refs: readonly MaskRef[]) => Promise<ReadonlyMap<string, FetchedMask>>;
  },
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
  const parse = (
    { record, attributes, body }: (typeof read)[number],
    fetchedMasks?: ReadonlyMap<string, FetchedMask>,
  ): ReadRecord => {
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
          ...(fetchedMasks ? { fetchedMasks } : {}),
        }),
      };
    } catch (error) {
      return { record, receiveCount, parsed: unreadable(error) };
    }
  };
  const first = read.map((r) => parse(r));
  // Records that point at mask files (Labelbox, Scale, Ground Truth): the files fetched once for the batch, then
  // those records read again with them. A fetch that failed is each such record's own failure.
  const needs = first.flatMap((r) => (!r.parsed.ok && r.parsed.needs ? r.parsed.needs : []));
  if (needs.length === 0 || !options.fetchMasks) return first;
  const fetched = await options.fetchMasks(needs);
  return first.map((r, i) =>
    !r.parsed.ok && r.parsed.needs ? parse(read[i] as (typeof read)[number], fetched) : r,
  );
}

/** The record's string message attributes, by name. */
function stringAttributes(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {}))
    if (typeof value?.stringValue === "string") out[name] = value.stringValue;
  return out;
}
