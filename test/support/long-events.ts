import { rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, expect } from "@jest/globals";
import { BUNDLING, HANDLER_ENTRY, PROJECT_ROOT, SPLIT_BUNDLE_SCRIPT } from "../../lib/bundling.js";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { type DrainOptions, drainBounded, type QueueInvocation } from "./bounded-queue.js";
import { resetEnvironment, standInOf } from "./bridge.js";
import { cvatVideoTrack } from "./cvat.js";
import { lsCreated } from "./label-studio.js";
import { deadLetters, queueCounts, sendBodies } from "./sqs.js";

/**
 * Long events (issue 32): one event of 18,000 or 108,000 annotations beside a small neighbour, delivered by the
 * bundled handler in a warm instance killed past the stack's 256 MB, with invocations of 10 s and 5 s, through the
 * real queue: what one invocation leaves undone goes on in a continuation message. Every annotation once, the
 * neighbour in the first invocation, a bounded number of requests to resume, the total within 5% of the floor
 * (annotations / 128), nothing done after an invocation answers, and no dead letter.
 */
export const PAT = "pat-long-7e21";
export const MEMORY_MB = 256;
export const OUT = path.join(
  PROJECT_ROOT,
  "cdk.out",
  `long-events-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
);
/** Requests per second: the stand-in throttles above 15 a second, as Clarifai does per key. */
export const RATE = 14;
let env: LocalEnvironment;
/** The suite's environment (started in its beforeAll). */
export const longEnv = () => env;

const mapping = {
  projects: {
    "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    "label-studio:12": { taskId: "street-audit" },
    "cvat:5": { taskId: "traffic-video", frameRate: 30 },
  },
};

/** Registers the suite's hooks: the bundle built once, one environment, reset before each test. */
export function setUpLongEvents(): void {
  beforeAll(async () => {
    const { splitBundle } = (await import(pathToFileURL(SPLIT_BUNDLE_SCRIPT).href)) as {
      splitBundle: (entry: string, outdir: string, settings: unknown) => Promise<unknown>;
    };
    await splitBundle(HANDLER_ENTRY, OUT, BUNDLING);
    env = await startLocalEnvironment({
      visibilityTimeoutSeconds: 2,
      standIn: {
        personalAccessTokens: { [PAT]: LOCAL_USER },
        faults: { latencyMs: 20, throttleAboveRps: 15 },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await env?.close();
    rmSync(OUT, { recursive: true, force: true });
  });

  beforeEach(() => resetEnvironment(env));
}

export const handlerEnv = () => ({
  ...env.handlerEnv,
  CLARIFAI_PAT: PAT,
  BRIDGE_MAPPING: JSON.stringify(mapping),
  CLARIFAI_REQUESTS_PER_SECOND: String(RATE),
});

export const NEIGHBOUR_INPUT = "sku-street-0307";

/** The track from CVAT (test/support/cvat.ts). */
export const cvatTrack = cvatVideoTrack;

export async function deliverWithNeighbour(
  body: string,
  options: Omit<DrainOptions, "memoryMb">,
  /** Requests per second, where not RATE (the stand-in's limit is raised to match: only the test's time changes). */
  rate = RATE,
) {
  await sendBodies(env, [body, lsCreated()]);
  if (rate !== RATE) Object.assign(standInOf(env).faults, { throttleAboveRps: rate + 1 });
  return drainBounded(
    env,
    OUT,
    { ...handlerEnv(), CLARIFAI_REQUESTS_PER_SECOND: String(rate) },
    { memoryMb: MEMORY_MB, ...options },
  );
}

/** What Clarifai was asked while each invocation ran: the requests that arrived between its start and answer. */
export function requestsDuring(invocation: QueueInvocation) {
  return standInOf(env).requests.filter((r) => r.at >= invocation.startedAt && r.at <= invocation.answeredAt);
}

export function expectLongDelivered(
  result: Awaited<ReturnType<typeof drainBounded>>,
  input: string,
  frames: number,
  timeoutMs: number,
  /** Clarifai throttles: its 429 answers are not counted against the floor. */
  throttled = false,
) {
  const { invocations } = result;
  expect({ peakUnder: result.peakMb < MEMORY_MB, stderr: result.stderr.slice(0, 400) }).toEqual({
    peakUnder: true,
    stderr: "",
  });
  for (const i of invocations) {
    expect(i.killed).toBeUndefined();
    // Answered within the invocation's time, with its own reserve to spare.
    expect(i.elapsedMs).toBeLessThanOrEqual(timeoutMs);
  }
  const stored = standInOf(env).annotations();
  const track = stored.filter((a) => a.input_id === input);
  expect(track).toHaveLength(frames);
  expect(new Set(track.map((a) => a.id)).size).toBe(frames);
  // The neighbour's 3 annotations were stored while the first invocation ran.
  const first = invocations[0] as QueueInvocation;
  const neighbour = stored.filter((a) => a.input_id === NEIGHBOUR_INPUT);
  expect(neighbour).toHaveLength(3);
  for (const a of neighbour)
    expect(Date.parse(String(a.annotation.created_at))).toBeLessThanOrEqual(first.answeredAt);
  // Nothing posted twice: the annotations of successful POSTs add up to what is stored; nothing was patched.
  const requests = standInOf(env).requests;
  const posted = requests
    .filter((r) => r.method === "POST" && r.httpStatus === 200)
    .reduce((n, r) => n + r.annotations, 0);
  expect(posted).toBe(frames + 3);
  expect(requests.filter((r) => r.method === "PATCH")).toHaveLength(0);
  // No dead letter, no record left failing.
  expect(deadLetters(env)).toEqual([]);
  expect(invocations.flatMap((i) => i.failed)).toEqual([]);
  // To resume, a continuation asks Clarifai at most 2 things before it writes: the task (when the instance's
  // cache has none) and the set's anchor annotation.
  const resumes = invocations.filter((i) => i.continuations > 0);
  expect(resumes.length).toBeGreaterThan(0);
  for (const i of resumes) {
    const asked = requestsDuring(i).filter((r) => r.httpStatus !== 429);
    const firstWrite = asked.findIndex((r) => r.method === "POST" || r.method === "PATCH");
    expect(firstWrite).toBeGreaterThanOrEqual(0);
    expect(firstWrite).toBeLessThanOrEqual(2);
  }
  // All requests within 5% of the floor: the track's annotations / 128, plus what the batch needs whatever the
  // track: the neighbour's lookup and POST (Label Studio creates are applied as changes) and one GetTask for each
  // of the two tasks.
  const floor = Math.ceil(frames / 128) + 4;
  const counted = requests.filter((r) => !throttled || r.httpStatus !== 429);
  expect(counted.length).toBeLessThanOrEqual(Math.floor(floor * 1.05));
  return {
    requests: counted.length,
    throttled: requests.length - counted.length,
    floor,
    invocations: invocations.length,
    resumes: resumes.length,
  };
}

/** Messages in the source queue and the dead-letter queue, in any state. */
export function messagesHeld(): number {
  const source = queueCounts(env);
  return source.ready + source.inflight + source.delayed + deadLetters(env).length;
}

/**
 * After each answer, 1.5 s of watching: no Clarifai request arrives, no message is sent or dead-lettered. Work
 * left running after an answer (a request in flight, a retry decided late, a slot waited for) would show here.
 */
export function watchAfterAnswers(seen: { requests: number; messages: number }[]) {
  return async (invocation: QueueInvocation) => {
    const before = { requests: standInOf(env).requests.length, messages: messagesHeld() };
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const late = standInOf(env).requests.filter((r) => r.at > invocation.answeredAt).length;
    seen.push({
      requests: standInOf(env).requests.length - before.requests + late,
      messages: messagesHeld() - before.messages,
    });
  };
}
