import { type Failure, permanent, retryable } from "../failure.js";

/**
 * What one batch's reading may hold in memory, and a record's cost, worked out before the work. Pure.
 *
 * A function instance holds the runtime, the modules and the SDK clients (measured: 87 MB resident with two small
 * records at 256 MB; `npm run bench`'s memory table), and the batch's reading: each body parsed, the mask files of
 * one record at a time and their decoding, and every record's annotations until they are sent. Lambda ends the
 * process when it passes its memory, and with it the whole batch, so the reading is kept under
 * `memory - BASELINE_MB` (`readingBudgetBytes`): a record whose cost alone passes it is dead-lettered at once
 * (`record-over-memory`, naming the figure, the limit and `memorySize`); one that fits only without its
 * neighbours' annotations waits (retried) for an invocation where it is read first.
 *
 * A record's cost, from what is known before it is read:
 * - its body: `BODY_FACTOR` times its bytes (a parsed JSON tree is several times its text; a 1 MB body of numbers
 *   measured 5.2 MB of heap);
 * - its mask files, once fetched: their bytes, and the largest decode among them (`maskFileCost`, from the PNG
 *   header: one class id a pixel, up to two bytes, the bitmap cut from it and its packed copy; one file is decoded
 *   at a time, mask-png.ts);
 * - a brush mask in a body decodes one at a time into a bitmap of at most 4096 x 4096 (`MASK_STEP_BYTES`).
 * After a record is read, its annotations' serialised size (times `OUTPUT_FACTOR` for the objects behind it) is
 * held until the batch is sent, and counted against the next records.
 */

/** Resident memory that is not the batch's: Node, the bundle, the SDK clients, with headroom for the garbage collector. */
export const BASELINE_MB = 112;
/** Heap a parsed body takes per byte of its text. */
export const BODY_FACTOR = 6;
/** Memory the annotations of a record take per serialised byte, until they are sent. */
export const OUTPUT_FACTOR = 2;
/** The largest decoding step: a 4096 x 4096 mask's bitmap (16 MiB) and its packed copy, with the PNG encoder's buffers. */
export const MASK_STEP_BYTES = 24 * 1024 * 1024;

/**
 * Bytes one batch's reading may hold, for a function of `memoryMb`: what the runtime leaves, and never under a
 * third of the memory (a 128 MB function still reads ordinary records; a 4096 x 4096 mask is then refused by name).
 */
export function readingBudgetBytes(memoryMb: number): number {
  return Math.max(memoryMb - BASELINE_MB, memoryMb / 3) * 1024 * 1024;
}

/** The memory a PNG mask file's decode takes at most, from its header (0 for what is not a PNG: refused unread). */
export function maskFileCost(bytes: Uint8Array): number {
  if (bytes.length < 29 || bytes[12] !== 0x49 || bytes[13] !== 0x48) return bytes.byteLength;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixels = Math.min(view.getUint32(16) * view.getUint32(20), 4096 * 4096);
  const idBytes = bytes[25] === 3 || (bytes[25] === 0 && (bytes[24] as number) <= 8) ? 1 : 2;
  // ids, the bitmap cut from them, its packed copy, the inflater's window and one push's output (4 MiB)
  return pixels * (idBytes + 1.125) + 4.5 * 1024 * 1024;
}

/** What a record's parsed body holds while the batch is read (every body is parsed before the first is read). */
export const bodyCost = (bodyBytes: number): number => bodyBytes * BODY_FACTOR;

/** A record's cost before it is read: its body, and its mask files once they are fetched. */
export function recordCost(bodyBytes: number, files: readonly Uint8Array[] = []): number {
  let fileBytes = 0;
  let largest = 0;
  for (const f of files) {
    fileBytes += f.byteLength;
    largest = Math.max(largest, maskFileCost(f));
  }
  return bodyCost(bodyBytes) + MASK_STEP_BYTES + fileBytes + largest;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * Whether a record of `cost` may be read now, beside `held` bytes of the batch's earlier records, within `budget`:
 * undefined when it may, else its failure (permanent when it cannot fit even alone).
 */
export function admit(cost: number, held: number, budget: number, memoryMb: number): Failure | undefined {
  if (cost > budget)
    return permanent(
      "record-over-memory",
      `reading this event needs about ${mb(cost)}, more than the ${mb(budget)} a ${memoryMb} MB function has for it: raise the function's memorySize, or send it in smaller events`,
    );
  if (held > 0 && held + cost > budget)
    return retryable(
      "record-waits-for-memory",
      `reading this event needs about ${mb(cost)}, and this batch's other events hold ${mb(held)} of the ${mb(budget)} there is: it is read again on a later receive, when they are gone`,
    );
  return undefined;
}
