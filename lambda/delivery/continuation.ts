import { type HeldAnnotation, heldVersion, isMemberOf, writtenVersion } from "../clarifai/plan-change.js";
import { MAX_REQUEST_BYTES } from "../clarifai/to-annotation.js";

/**
 * Where a long change stands (one event of more annotations than one request holds: a video track), carried from
 * one invocation to the next by a continuation message: the same body, with this cursor in a message attribute.
 * Pure: encoding, the order of the work, and what a page of ListAnnotations says. The runner is long-change.ts.
 *
 * The work has three phases, each resumable from the cursor alone:
 * - `scan`: ListAnnotations of the input, page by page; each member of this annotation's set marks its annotation
 *   POST (not held), PATCH (held at another version) or SKIP (held at this version: already written). A member
 *   the change does not want, or one at another version, means an earlier version is there: a sweep follows.
 * - `write`: the annotations to send, in the event's order, in request-sized chunks of one kind; `next` is the
 *   first chunk not known done, `done` the chunks after it that are.
 * - `sweep`: ListAnnotations again; members the change does not want are deleted, members at another version
 *   (written by a stale writer after the scan) are patched again. Only after a scan that found another version.
 */
export type Phase = "scan" | "write" | "sweep";

/** What an annotation needs: POST, PATCH, or nothing (already held at this version). */
export const POST = 0;
export const PATCH = 1;
export const SKIP = 2;
export type OpState = typeof POST | typeof PATCH | typeof SKIP;

export interface Cursor {
  readonly phase: Phase;
  /** The version (the event's `occurred_at`) and the number of annotations: a body that reads otherwise starts over. */
  readonly at: string;
  readonly count: number;
  /** scan and sweep: the next page to read (1-based). */
  readonly page: number;
  /** write: the first chunk not known done, and the chunks after it that are. */
  readonly next: number;
  readonly done: readonly number[];
  /** Per annotation, in the event's order: POST, PATCH or SKIP. */
  readonly states: Uint8Array;
  /** A sweep follows the write. */
  readonly sweep: boolean;
  /**
   * An annotation this version wrote first: a continuation looks it up (one request) before it writes on; gone or
   * at a newer version means a delete or an update took over, and the continuation stops.
   */
  readonly anchor?: string;
  /** Continuation messages so far (logs, the FIFO deduplication id). */
  readonly hops: number;
  /**
   * When the first message was sent (its SentTimestamp, ms): events read with the time they were received (a tool
   * that sends no time of its own) keep the same version in every continuation.
   */
  readonly sent?: number;
}

/** A fresh cursor: nothing known yet, scan from the first page. */
export const startCursor = (at: string, count: number, hops = 0): Cursor => ({
  phase: "scan",
  at,
  count,
  page: 1,
  next: 0,
  done: [],
  states: new Uint8Array(count),
  sweep: false,
  hops,
});

/**
 * The cursor as attribute text. States are run-length coded (`<state><count in base 36>`, comma-separated), which
 * is a few bytes for the usual shapes (all POST, a SKIP prefix); where runs alternate it is packed 4 to a byte in
 * base64 instead (`~` first), at most a quarter of the count in bytes, times 4/3.
 */
export function encodeCursor(cursor: Cursor): string {
  const runs: string[] = [];
  let i = 0;
  while (i < cursor.states.length) {
    let j = i;
    while (j < cursor.states.length && cursor.states[j] === cursor.states[i]) j++;
    runs.push(`${cursor.states[i]}${(j - i).toString(36)}`);
    i = j;
  }
  let states = runs.join(",");
  if (states.length > Math.ceil(cursor.states.length / 4) * 1.4) {
    const packed = new Uint8Array(Math.ceil(cursor.states.length / 4));
    cursor.states.forEach((s, k) => {
      packed[k >> 2] = (packed[k >> 2] as number) | (s << ((k & 3) * 2));
    });
    states = `~${Buffer.from(packed).toString("base64")}`;
  }
  return JSON.stringify({
    v: 1,
    phase: cursor.phase,
    at: cursor.at,
    count: cursor.count,
    page: cursor.page,
    next: cursor.next,
    done: cursor.done,
    states,
    sweep: cursor.sweep,
    ...(cursor.anchor !== undefined ? { anchor: cursor.anchor } : {}),
    hops: cursor.hops,
    ...(cursor.sent !== undefined ? { sent: cursor.sent } : {}),
  });
}

/** The cursor in an attribute's text, or undefined for anything that is not one this version wrote. */
export function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined || text.length > 1_048_576) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const count = r.count;
  const whole = (n: unknown, min = 0): n is number => Number.isSafeInteger(n) && (n as number) >= min;
  if (r.v !== 1 || !whole(count) || count > 10_000_000 || typeof r.at !== "string") return undefined;
  if (r.phase !== "scan" && r.phase !== "write" && r.phase !== "sweep") return undefined;
  if (!whole(r.page, 1) || !whole(r.next) || !whole(r.hops) || typeof r.sweep !== "boolean") return undefined;
  if (!Array.isArray(r.done) || !r.done.every((d) => whole(d)) || r.done.length > 10_000) return undefined;
  if (r.anchor !== undefined && typeof r.anchor !== "string") return undefined;
  if (r.sent !== undefined && !whole(r.sent, 1)) return undefined;
  const states = decodeStates(r.states, count);
  if (!states) return undefined;
  return {
    phase: r.phase,
    at: r.at,
    count,
    page: r.page,
    next: r.next,
    done: r.done as number[],
    states,
    sweep: r.sweep,
    ...(typeof r.anchor === "string" ? { anchor: r.anchor } : {}),
    hops: r.hops,
    ...(typeof r.sent === "number" ? { sent: r.sent } : {}),
  };
}

function decodeStates(text: unknown, count: number): Uint8Array | undefined {
  if (typeof text !== "string") return undefined;
  const states = new Uint8Array(count);
  if (text.startsWith("~")) {
    const packed = Buffer.from(text.slice(1), "base64");
    if (packed.length !== Math.ceil(count / 4)) return undefined;
    for (let k = 0; k < count; k++) {
      const s = ((packed[k >> 2] as number) >> ((k & 3) * 2)) & 3;
      if (s > SKIP) return undefined;
      states[k] = s;
    }
    return states;
  }
  let at = 0;
  for (const run of text === "" ? [] : text.split(",")) {
    const state = Number(run[0]);
    const length = Number.parseInt(run.slice(1), 36);
    if (!(state === POST || state === PATCH || state === SKIP)) return undefined;
    if (!/^[0-9a-z]+$/.test(run.slice(1)) || !(length > 0) || at + length > count) return undefined;
    states.fill(state, at, at + length);
    at += length;
  }
  return at === count ? states : undefined;
}

/** One request's worth of the write phase: annotations (by index in the event's order) of one kind. */
export interface OpChunk {
  readonly kind: "post" | "patch";
  readonly indices: readonly number[];
}

/**
 * The write phase's requests, in the event's order: consecutive annotations of one kind, at most `size` and
 * `maxBytes` of JSON each (`bytesOf`; one larger annotation still goes alone). The same sizes and states give the
 * same chunks, so a chunk's number means the same thing in every invocation.
 */
export function opChunks(
  bytesOf: (index: number) => number,
  states: Uint8Array,
  size: number,
  maxBytes: number = MAX_REQUEST_BYTES,
): OpChunk[] {
  const out: OpChunk[] = [];
  let current: { kind: "post" | "patch"; indices: number[]; bytes: number } | undefined;
  states.forEach((state, i) => {
    if (state === SKIP) return;
    const kind = state === PATCH ? "patch" : "post";
    const bytes = bytesOf(i);
    if (
      current &&
      (current.kind !== kind || current.indices.length >= size || current.bytes + bytes > maxBytes)
    ) {
      out.push({ kind: current.kind, indices: current.indices });
      current = undefined;
    }
    current ??= { kind, indices: [], bytes: 0 };
    current.indices.push(i);
    current.bytes += bytes;
  });
  if (current) out.push({ kind: current.kind, indices: current.indices });
  return out;
}

/** The set a change writes: its base id, input and version, and each wanted annotation's index by id. */
export interface Target {
  readonly baseId: string;
  /** The input the set is on; undefined for a delete that names none (its members are found by task). */
  readonly inputId: string | undefined;
  readonly at: number;
  readonly index: ReadonlyMap<string, number>;
}

export function targetOf(
  baseId: string,
  inputId: string | undefined,
  occurredAt: string,
  members: { readonly count: number; id(index: number): string },
): Target {
  const index = new Map<string, number>();
  for (let i = 0; i < members.count; i++) index.set(members.id(i), i);
  return { baseId, inputId, at: Date.parse(occurredAt), index };
}

/** The members of the target's set on a page of ListAnnotations. */
const membersOn = (target: Target, page: readonly HeldAnnotation[]) =>
  page.filter(
    (a) => (target.inputId === undefined || a.input_id === target.inputId) && isMemberOf(a.id, target.baseId),
  );

/**
 * One scan page into the states: SKIP for a member held at this version, PATCH for one held at another. `newer`
 * when a member is a newer version (the change is stale: nothing is written); `sweep` when a member is at another
 * version or not wanted (an earlier version is there, and what it has that this one drops must go).
 */
export function scanPage(
  target: Target,
  states: Uint8Array,
  page: readonly HeldAnnotation[],
): { newer: boolean; sweep: boolean } {
  let sweep = false;
  for (const member of membersOn(target, page)) {
    const version = heldVersion(member);
    if (Number.isFinite(version) && Number.isFinite(target.at) && version > target.at)
      return { newer: true, sweep };
    const i = target.index.get(member.id);
    if (i === undefined) {
      sweep = true;
      continue;
    }
    const same = Number.isFinite(target.at) && writtenVersion(member) === target.at;
    states[i] = same ? SKIP : PATCH;
    if (!same) sweep = true;
  }
  return { newer: false, sweep };
}

/**
 * What one sweep page asks: delete the members the change does not want, patch again the wanted ones held at
 * another version; `newer` when a member is a newer version (a newer update owns the set now: it stops, while a
 * delete removes every version).
 */
export function sweepPage(
  target: Target,
  page: readonly HeldAnnotation[],
): { newer: boolean; remove: { id: string; inputId: string }[]; repatch: number[] } {
  const remove: { id: string; inputId: string }[] = [];
  const repatch: number[] = [];
  let newer = false;
  for (const member of membersOn(target, page)) {
    const version = heldVersion(member);
    if (Number.isFinite(version) && Number.isFinite(target.at) && version > target.at) newer = true;
    const i = target.index.get(member.id);
    if (i === undefined) remove.push({ id: member.id, inputId: member.input_id });
    else if (writtenVersion(member) !== target.at) repatch.push(i);
  }
  return { newer, remove, repatch };
}

/** After a write: the first chunk not done, and the done ones after it. */
export function advance(
  next: number,
  done: ReadonlySet<number>,
  total: number,
): { next: number; done: number[] } {
  let first = next;
  while (first < total && done.has(first)) first++;
  return {
    next: first,
    done: [...done].filter((c) => c > first && c < total).sort((a, b) => a - b),
  };
}
