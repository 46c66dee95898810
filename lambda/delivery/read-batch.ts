import type { SQSRecord } from "aws-lambda";
import type { MappingOptions } from "../clarifai/to-annotation.js";
import type { MappingConfig } from "../events/contract/mapping-config.js";
import { type FetchedMask, type MaskRef, releaseDecodedMask } from "../events/contract/mask-files.js";
import { loadWords } from "../events/contract/refusal-words.js";
import { withReadMeter } from "../events/read-meter.js";
import { loadAdapters, loadMaskDecoder } from "../events/registry.js";
import { type Failure, permanent, retryable } from "../failure.js";
import { type Scrub, safeError } from "../redact.js";
import { CONTINUATION_ATTRIBUTE } from "./continuation-attribute.js";
import { type ParsedRecord, parsedBytes, parseRead, readBody } from "./parse-record.js";
import { admit, bodyCost, OUTPUT_FACTOR, readingBudgetBytes, recordCost } from "./reading-budget.js";

/** A record of the batch, read: what it asks of Clarifai, or why it cannot be delivered. */
export interface ReadRecord {
  readonly record: SQSRecord;
  readonly receiveCount: number;
  readonly parsed: ParsedRecord;
}

/**
 * A batch's records read in two halves: each body as far as its format, then the adapters those formats need
 * loaded (the first record of a format loads its adapter; a failed load throws, and the batch is retried), then
 * each mapped, cheapest first, within the batch's memory budget and the invocation's reading time. Whatever a
 * record makes the readers throw is that record's permanent failure, never the batch's; a record that runs out of
 * memory budget or time is retried, or dead-lettered by name when it could not fit even alone.
 */
export async function readBatch(
  records: readonly SQSRecord[],
  options: MappingOptions & {
    readonly upstream: MappingConfig;
    /** Fetches the mask files records point at, within `ms` (fetch-masks.ts); without it such records wait (retryable). */
    readonly fetchMasks?: (refs: readonly MaskRef[], ms: number) => Promise<ReadonlyMap<string, FetchedMask>>;
    /** Milliseconds left in the invocation. @default 60000 */
    readonly remainingMs?: () => number;
    /** The function's memory in MB, for the batch's reading budget (reading-budget.ts). @default 256 */
    readonly memoryMb?: number;
    /** Creates without lookups, for an import into a task that holds none of them (parse-record.ts). @default false */
    readonly fresh?: boolean;
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
  // The cursor's reader loads only for a batch that holds a continuation (long events are rare).
  const cursors = read.some(({ attributes }) => attributes[CONTINUATION_ATTRIBUTE] !== undefined)
    ? await import("./continuation.js")
    : undefined;
  const parse = (
    { record, attributes, body }: (typeof read)[number],
    fetchedMasks?: ReadonlyMap<string, FetchedMask>,
  ): ReadRecord => {
    const receiveCount = receiveCountOf(record);
    try {
      // A continuation is read with its first message's time, so what it makes is the same version every time.
      const sent =
        cursors?.decodeCursor(attributes[CONTINUATION_ATTRIBUTE])?.sent ??
        Number(record.attributes.SentTimestamp);
      return {
        record,
        receiveCount,
        parsed: parseRead(body, {
          taskLink: options.taskLink,
          defaultApp: options.defaultApp,
          upstream: options.upstream,
          attributes,
          receivedAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : new Date(),
          ...(options.fresh ? { fresh: true } : {}),
          ...(fetchedMasks ? { fetchedMasks } : {}),
        }),
      };
    } catch (error) {
      return { record, receiveCount, parsed: unreadable(error) };
    }
  };
  // Records are read cheapest first, one at a time, each against the batch's memory budget and the reading share
  // of the invocation's time (half of what is left; delivery needs the rest): a heavy record cannot hold up its
  // neighbours, and one that cannot fit is its own failure, never the batch's (reading-budget.ts, read-meter.ts).
  // The last batch read a long event: what it made is garbage now, collected before this batch allocates more.
  if (collectBeforeNext) collect();
  collectBeforeNext = false;
  const out: ReadRecord[] = new Array(records.length);
  const memoryMb = options.memoryMb ?? 256;
  const budget = readingBudgetBytes(memoryMb);
  const started = Date.now();
  const share = (options.remainingMs?.() ?? 60_000) / 2;
  const until = started + share;
  const order = read
    .map((r, i) => ({ i, bytes: typeof r.record.body === "string" ? r.record.body.length : 0 }))
    .sort((a, b) => a.bytes - b.bytes);
  // Every body is parsed already (at most 1 MiB each); the annotations of each record read are added as it is.
  let held = order.reduce((n, { bytes }) => n + bodyCost(bytes), 0);
  const fetchMasks = options.fetchMasks;
  for (const { i, bytes } of order) {
    const r = read[i] as (typeof read)[number];
    const refuse = (failure: Failure): ReadRecord => refused(r.record, failure);
    const readNow = (
      files: readonly Uint8Array[],
      fetched?: ReadonlyMap<string, FetchedMask>,
    ): ReadRecord => {
      const cost = recordCost(bytes, files);
      const over = admit(cost, held - bodyCost(bytes), budget, memoryMb);
      if (over) return refused(r.record, over);
      // No check of the clock here: a record whose reading is cheap is read whatever the time (it takes
      // microseconds, and refusing it would only delay it); the meter stops the heavy loops past the deadline.
      const begun = Date.now();
      const meter = { deadline: until, alone: begun - started < share / 10, startedAt: begun };
      try {
        return withReadMeter(meter, parse, r, fetched);
      } finally {
        releaseDecodedMask();
      }
    };
    // A record refused before zod's words were loaded (the first refusal of an instance) is read again with them;
    // the common case, read at once, awaits nothing.
    const needsWords = (r: ReadRecord) => !r.parsed.ok && r.parsed.needsWords === true;
    const withWords = async (files: readonly Uint8Array[], fetched?: ReadonlyMap<string, FetchedMask>) => {
      await loadWords(); // a failed load throws: the batch is retried, as for an adapter
      return readNow(files, fetched);
    };
    let done = readNow([]);
    if (needsWords(done)) done = await withWords([]);
    // Records that point at mask files (Labelbox, Scale, Ground Truth): the record's files fetched (a few at once)
    // and the record read again with them, so one record's files are in memory at a time. Records fetching does
    // not reach in the reading share wait for a later receive (retryable), so a slow file host cannot time the
    // whole batch out. A fetch that failed is that record's own failure.
    if (fetchMasks && !done.parsed.ok && done.parsed.needs) {
      const left = until - Date.now();
      if (left < 1_000) done = refuse(retryable("mask-not-fetched", OUT_OF_TIME));
      else {
        let fetched: ReadonlyMap<string, FetchedMask> | undefined;
        try {
          fetched = await fetchMasks(done.parsed.needs, Math.floor(left));
        } catch (error) {
          // Whatever the fetching edge throws is this record's (retried) failure, never the batch's.
          const reason = `this event's mask files could not be fetched: ${safeError(error, scrub).message}`;
          done = refuse(retryable("mask-fetch-failed", reason));
        }
        if (fetched) {
          await loadMaskDecoder(); // a failed load throws: the batch is retried, as for an adapter
          const files = [...fetched.values()].flatMap((f) => (f.ok ? [f.bytes] : []));
          done = readNow(files, fetched);
          if (needsWords(done)) done = await withWords(files, fetched);
        }
      }
    }
    // A long event's members are made as they are sent; what it holds is its event, which must fit beside the rest.
    const retained = done.parsed.ok ? done.parsed.retained : undefined;
    const tooLong =
      retained !== undefined ? admit(retained, held - bodyCost(bytes), budget, memoryMb) : undefined;
    if (tooLong) done = refuse(tooLong);
    if (done.parsed.ok) held += done.parsed.retained ?? parsedBytes(done.parsed) * OUTPUT_FACTOR;
    // A long event's reading makes and drops an object and a JSON text per member (a hundred megabytes for an
    // hour of video): collected at once, where node lets us (Lambda's runtime exposes gc), so resident memory
    // stays near what is live instead of growing to V8's own limit, which in a 256 MB function is past Lambda's.
    if (done.parsed.ok && done.parsed.retained !== undefined) {
      collect();
      collectBeforeNext = true;
    }
    out[i] = done;
  }
  return out;
}

let collectBeforeNext = false;
const collect = () => (globalThis as { gc?: () => void }).gc?.();

const OUT_OF_TIME =
  "this event's mask files wait for a later receive: this invocation's time for fetching mask files ran out";

const refused = (record: SQSRecord, failure: Failure): ReadRecord => ({
  record,
  receiveCount: receiveCountOf(record),
  parsed: { ok: false, failure },
});

const receiveCountOf = (record: SQSRecord) => Number(record.attributes?.ApproximateReceiveCount ?? "1") || 1;

/** The record's string message attributes, by name. */
function stringAttributes(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {}))
    if (typeof value?.stringValue === "string") out[name] = value.stringValue;
  return out;
}
