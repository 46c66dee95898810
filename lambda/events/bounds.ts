/**
 * Limits on what one record may carry, and the checks that enforce them without ever throwing. A hostile or
 * careless sender can put anything in free-form fields (`metadata`, `upstream`, a Clarifai-native `data`): these
 * checks keep such a record from overflowing the stack, from growing a Clarifai request past what it may carry,
 * or from sending ids that re-route a request.
 */

/** Nesting depth allowed in free-form JSON (metadata, native data, annotation_info). Real payloads use < 10. */
export const MAX_JSON_DEPTH = 32;
/** Serialised size allowed for one free-form field (metadata, ground_truth, native annotation_info). */
export const MAX_FREE_FORM_BYTES = 64 * 1024;
/** Serialised size allowed for one annotation: a 10,000-point polygon is about 400 KB. */
export const MAX_ANNOTATION_BYTES = 1024 * 1024;
/**
 * Serialised size allowed for all annotations of one record (shared metadata is copied to every member). A
 * 10-minute Label Studio track at 30 fps is 18,000 annotations of about 960 bytes: 16.7 MB, parsed in 0.26 s with
 * 17 MB of heap (measured on Node 24), within the function's 256 MB.
 */
export const MAX_RECORD_ANNOTATION_BYTES = 32 * 1024 * 1024;

/**
 * How deep a JSON value nests, counted iteratively (no recursion, so any depth is safe to ask about), stopping as
 * soon as `limit` is passed: the answer is then `limit + 1`.
 */
export function jsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop() as { value: unknown; depth: number };
    if (v === null || typeof v !== "object") continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return limit + 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ value: child, depth: here });
  }
  return deepest;
}

/**
 * A problem with a free-form JSON value (too deep, too large), in words naming the limit, or undefined when it
 * is within bounds.
 */
export function freeFormProblem(
  value: unknown,
  maxBytes: number = MAX_FREE_FORM_BYTES,
  maxDepth: number = MAX_JSON_DEPTH,
): string | undefined {
  if (jsonDepth(value, maxDepth) > maxDepth) return `nests deeper than ${maxDepth} levels`;
  const bytes = serialisedBytes(value);
  if (bytes === undefined) return "cannot be serialised as JSON";
  if (bytes > maxBytes) return `is ${bytes} bytes as JSON, more than ${maxBytes}`;
  return undefined;
}

/** The UTF-8 size of `JSON.stringify(value)`, or undefined when it cannot be serialised. Never throws. */
export function serialisedBytes(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : Buffer.byteLength(text, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Characters an id may not hold: C0 and C1 controls, DEL, lone surrogates and Unicode non-characters. SQS refuses
 * them in attribute values, logs and terminals mangle them, and no labeling tool makes them on purpose.
 */
// With the `u` flag a valid surrogate pair is one code point, so the surrogate range matches only lone halves.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the pattern is to find control characters
const UNSAFE_ID_CHARS = /[\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]/u;

/**
 * The rule for annotation, input, task and concept ids: no unsafe characters (above), no `/` or `\`, and not `.`
 * or `..`. Clarifai's REST routes put these ids in URL paths (GetAnnotation, GetTask, the single DELETE), where a
 * `/` or a dot segment sends the request elsewhere; fetch normalises `.` and `..` away before it leaves.
 * Returns the problem in words, or undefined.
 */
export function idProblem(id: string): string | undefined {
  if (id === "." || id === "..") return 'must not be "." or ".."';
  if (/[/\\]/.test(id)) return "must not contain / or \\";
  if (UNSAFE_ID_CHARS.test(id)) return "must not contain control characters or Unicode non-characters";
  return undefined;
}

/** Clarifai user and app ids: letters, digits, `_` and `-` (they are URL path segments). */
export const USER_APP_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * How many objects and arrays a JSON text opens, counted over its bytes without parsing it (brackets inside strings
 * are skipped), stopping once `limit` is passed: the answer is then `limit + 1`. A parsed container costs tens of
 * bytes of heap however short its text (16 MiB of `[],` parses to 500 MiB), so a file from a payload's URL is
 * counted before `JSON.parse` is allowed to build it.
 */
export function jsonContainers(bytes: Uint8Array, limit: number): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // the escaped character
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      count++;
      if (count > limit) return limit + 1;
    }
  }
  return count;
}

/**
 * Regions one event may carry. A video track is a region per frame: an hour at 30 fps is 108,000, carried as one
 * event across invocations (lambda/delivery/long-change.ts); this leaves a tenth more. The adapters check it
 * before they expand a track, so a hostile length is refused without being made; within it, the function's
 * memory decides (a long event is counted at 700 bytes a member: `record-over-memory` where the reading budget is
 * smaller, reading-budget.ts). Above it the record is dead-lettered as `too-many-annotations`, naming both.
 */
export const MAX_REGIONS_PER_EVENT = 120_000;
