import type { SQSRecord } from "aws-lambda";
import type { MappingOptions } from "../clarifai/to-annotation.js";
import type { MappingConfig } from "../events/adapters/mapping-config.js";
import { type FetchedMask, loadMaskDecoder, type MaskRef } from "../events/adapters/mask-files.js";
import { loadAdapters } from "../events/adapters/registry.js";
import { type Failure, permanent, retryable } from "../failure.js";
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
    /** Fetches the mask files records point at, within `ms` (fetch-masks.ts); without it such records wait (retryable). */
    readonly fetchMasks?: (refs: readonly MaskRef[], ms: number) => Promise<ReadonlyMap<string, FetchedMask>>;
    /** Milliseconds left in the invocation. @default 60000 */
    readonly remainingMs?: () => number;
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
  const out = read.map((r) => parse(r));
  // Records that point at mask files (Labelbox, Scale, Ground Truth): one record at a time, its files fetched (a
  // few at once) and the record read again with them, so one record's files are in memory at a time. Fetching may
  // take half the invocation's time: records it does not reach wait for a later receive (retryable), so a slow
  // file host cannot time the whole batch out. A fetch that failed is that record's own failure.
  const fetchMasks = options.fetchMasks;
  if (!fetchMasks) return out;
  const until = Date.now() + (options.remainingMs?.() ?? 60_000) / 2;
  for (const [i, r] of out.entries()) {
    if (r.parsed.ok || !r.parsed.needs) continue;
    const left = until - Date.now();
    if (left < 1_000) {
      out[i] = { ...r, parsed: { ok: false, failure: retryable("mask-not-fetched", OUT_OF_TIME) } };
      continue;
    }
    let fetched: ReadonlyMap<string, FetchedMask>;
    try {
      fetched = await fetchMasks(r.parsed.needs, Math.floor(left));
    } catch (error) {
      // Whatever the fetching edge throws is this record's (retried) failure, never the batch's.
      const reason = `this event's mask files could not be fetched: ${safeError(error, scrub).message}`;
      out[i] = { ...r, parsed: { ok: false, failure: retryable("mask-fetch-failed", reason) } };
      continue;
    }
    await loadMaskDecoder(); // a failed load throws: the batch is retried, as for an adapter
    out[i] = parse(read[i] as (typeof read)[number], fetched);
  }
  return out;
}

const OUT_OF_TIME =
  "this event's mask files wait for a later receive: this invocation's time for fetching mask files ran out";

/** The record's string message attributes, by name. */
function stringAttributes(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {}))
    if (typeof value?.stringValue === "string") out[name] = value.stringValue;
  return out;
}
