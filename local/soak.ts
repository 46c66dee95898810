// Over 300 lines: the chaos soak: one run's world, faults and accounting, read top to bottom.
import { isDeepStrictEqual } from "node:util";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { DEFAULTS, perInstanceRate, visibilityTimeoutSeconds } from "../lib/defaults.js";
import { startCpuHog } from "./cpu-hog.js";
import { startLocalEnvironment } from "./environment.js";
import { createPoller, type InvokeInfo } from "./poller.js";
import { type SentEvent, soakEvent } from "./soak-events.js";
import { createWorkerHandler, type IsolatedHandler } from "./worker-handler.js";

/**
 * The chaos soak: N events through the real queue, poller and handler while the Clarifai stand-in and the poller
 * inject faults; then every event is accounted for, from the stand-in's store and the dead-letter queue alone.
 */
export interface SoakOptions {
  readonly events: number;
  /** Share of events that are invalid (not JSON, wrong values, missing fields) or that Clarifai rejects. @default 0.05 */
  readonly invalidShare?: number;
  /** Handler instances polling at once. @default 2 */
  readonly instances?: number;
  /** Give up after this long. @default 300 s */
  readonly timeoutMs?: number;
  /**
   * The stack's timing (function timeout 60 s, batching window 5 s, visibility 6x the timeout plus the window)
   * scaled by this factor, so a killed or timed-out batch comes back as it would on AWS, only sooner. @default 1/8
   */
  readonly timeScale?: number;
  /** Keep every core busy with spinning processes while the soak runs. @default false */
  readonly cpuHog?: boolean;
  /** Kill one invocation mid-batch. @default true */
  readonly kill?: boolean;
  /** The stand-in's behaviour profile (local/clarifai/profiles.ts). @default CLARIFAI_STAND_IN_PROFILE, else "default" */
  readonly profile?: string;
  readonly log?: (line: string) => void;
}

export interface SoakTally {
  sent: number;
  delivered: number;
  deadLettered: Record<string, number>;
  /** Dead-letter copies beyond the first for one message: SQS's at-least-once delivery of a poison message. */
  deadLetterCopies: number;
  lost: number;
  duplicated: number;
  contentMismatches: number;
  invalidNotDeadLetteredOnFirstReceive: number;
  retries: number;
  /**
   * Invocations that held the most-received event: the margin to the redrive policy's 10 receives, where a slow
   * or busy machine shows first.
   */
  mostReceives: number;
  killedInvocations: number;
  /** Invocations stopped at the function timeout (their environment terminated, as Lambda does). */
  timedOutInvocations: number;
  /** The longest invocation that was not killed (a batch slower than the visibility timeout comes back while still running). */
  slowestInvocationMs: number;
  clarifaiRequests: number;
  throttledRequests: number;
  elapsedMs: number;
  problems: string[];
}

/**
 * The stand-in's rate limit: Clarifai's own 15 requests per second per key, shared as the construct shares it
 * (7 + 7). Only the Lambda's timing is scaled down: scaling the pace down as well left an invocation of the
 * scaled 5 s about 10 requests (the stack's 60 s at 7 per second allow 420), so a cold start's task reads and
 * one throttled answer used up whole invocations, and on a busy machine valid events ran out of receives.
 */
const CLARIFAI_LIMIT = 15;

export async function runSoak(options: SoakOptions): Promise<SoakTally> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const scale = options.timeScale ?? 1 / 8;
  // The construct's relation between the three, scaled down together (lib/defaults.ts).
  const functionTimeoutSeconds = DEFAULTS.functionTimeoutSeconds * scale;
  const windowSeconds = DEFAULTS.maxBatchingWindowSeconds * scale;
  const visibility = Math.ceil(visibilityTimeoutSeconds(functionTimeoutSeconds, windowSeconds));
  const stopHog = options.cpuHog ? startCpuHog() : undefined;
  const env = await startLocalEnvironment({
    maxReceiveCount: DEFAULTS.maxReceiveCount,
    visibilityTimeoutSeconds: visibility,
    standIn: {
      ...(options.profile ? { profile: options.profile } : {}),
      faults: {
        latencyMs: 5,
        jitterMs: 25,
        serverErrorRate: 0.05,
        dropConnectionRate: 0.02,
        mixedTransientRate: 0.05,
        // Clarifai's limit, which the instances share as the construct shares 15 req/s between them (below).
        // Their requests still meet it when bursts line up, and the first few are throttled on purpose.
        throttleAboveRps: CLARIFAI_LIMIT,
        script: ["throttle", "throttle", "throttle"],
        retryAfterSeconds: 1,
        slowRate: 0.02,
        slowMs: 1_500, // past the handler's request timeout below
      },
    },
  });
  const instances: IsolatedHandler[] = [];
  try {
    const handlerEnv = {
      ...env.handlerEnv,
      REQUEST_TIMEOUT_MS: "1000",
      // Paced as the construct paces its instances (7 + 7 under 15 there, 2 + 2 under 5 here).
      CLARIFAI_REQUESTS_PER_SECOND: String(perInstanceRate(CLARIFAI_LIMIT, options.instances ?? 2)),
      BACKOFF_BASE_SECONDS: "1",
      BACKOFF_CAP_SECONDS: "3",
      MAX_RECEIVE_COUNT: String(DEFAULTS.maxReceiveCount),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    };
    // One execution environment per instance, each a worker thread that a kill or a timeout really stops.
    for (let i = 0; i < (options.instances ?? 2); i++)
      instances.push(
        await createWorkerHandler({ env: handlerEnv, quiet: handlerEnv.POWERTOOLS_LOG_LEVEL === "SILENT" }),
      );
    const sent: SentEvent[] = Array.from({ length: options.events }, (_, n) =>
      soakEvent(n, options.invalidShare ?? 0.05),
    );
    const bodyToIndex = new Map(sent.map((e, i) => [e.body, i]));
    const messageToIndex = new Map<string, number>();
    for (let i = 0; i < sent.length; i += 10) {
      const slice = sent.slice(i, i + 10);
      const answer = await env.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: env.queueUrl,
          Entries: slice.map((e, j) => ({ Id: String(j), MessageBody: e.body })),
        }),
      );
      for (const ok of answer.Successful ?? []) messageToIndex.set(ok.MessageId as string, i + Number(ok.Id));
      if (answer.Failed?.length) throw new Error(`could not send: ${JSON.stringify(answer.Failed)}`);
    }
    log(
      `sent ${sent.length} events; polling with ${instances.length} instances under faults (function timeout ${functionTimeoutSeconds} s, visibility ${visibility} s${options.cpuHog ? ", every core kept busy" : ""})`,
    );

    const invocations: InvokeInfo[] = [];
    // One invocation is killed mid-batch, as a crash or a timeout would end it: the first from the third
    // invocation on (counted over all instances) that is still running when the kill comes; a quick one that
    // finished first is not a kill, and the next is tried. Counted over all instances because which instance
    // gets how many batches is a race (one with a slower cold start may get only two).
    const killFrom = 3;
    let invocationsStarted = 0;
    let killedOnce = false;
    /** The invocation chosen for the kill and not yet ended (instance and its invocation number), if any. */
    let chosen: { instance: number; n: number } | undefined;
    const ended = instances.map(() => 0); // invocations ended per instance (each instance's run one at a time)
    const pollers = instances.map((handler, i) =>
      createPoller({
        sqs: env.sqs,
        queueUrl: env.queueUrl,
        queueArn: env.queueArn,
        handler,
        batchSize: 100,
        maxBatchingWindowMs: windowSeconds * 1000,
        functionTimeoutMs: functionTimeoutSeconds * 1000,
        onInvoke: (info) => {
          invocations.push(info);
          ended[i] = (ended[i] ?? 0) + 1;
          if (chosen?.instance === i && chosen.n === ended[i]) {
            if (info.killed && !info.timedOut) killedOnce = true;
            chosen = undefined;
          }
        },
        chaos: {
          duplicateDeliveryRate: 0.02,
          killInvocation: (n) => {
            invocationsStarted += 1;
            if (!(options.kill ?? true) || killedOnce || chosen || invocationsStarted < killFrom)
              return false;
            chosen = { instance: i, n };
            return true;
          },
          killAfterMs: 300, // mid-batch: after its first request, during the paced wait for the next
        },
      }),
    );
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    const drained = () => {
      const q = env.sqsServer.inspectQueue(env.queueName);
      return (
        (q?.messages.ready.length ?? 0) +
          (q?.messages.inflight.length ?? 0) +
          (q?.messages.delayed.length ?? 0) ===
        0
      );
    };
    let emptyPolls = 0;
    await Promise.all(
      pollers.map((p) =>
        p.run((size) => {
          emptyPolls = size === 0 ? emptyPolls + 1 : 0;
          return Date.now() > deadline || (drained() && emptyPolls >= 2);
        }),
      ),
    );
    // Killed and timed-out invocations were stopped with their environments: nothing is still running.

    // Accounting, from the stand-in's store and the dead-letter queue only.
    const standIn = env.standIn;
    if (!standIn) throw new Error("no stand-in");
    const stored = new Map(standIn.annotations().map((a) => [a.id, a]));
    const dlq = env.sqsServer.inspectQueue(env.dlqName)?.messages.ready ?? [];
    const deadByIndex = new Map<number, typeof dlq>();
    for (const m of dlq) {
      // By source message id (exact even when two events have the same body), else by body (a redrive's copy).
      const index =
        messageToIndex.get(m.messageAttributes?.sourceMessageId?.StringValue ?? "") ??
        bodyToIndex.get(m.body);
      if (index === undefined) continue;
      deadByIndex.set(index, [...(deadByIndex.get(index) ?? []), m]);
    }
    const tally: SoakTally = {
      sent: sent.length,
      delivered: 0,
      deadLettered: {},
      deadLetterCopies: 0,
      lost: 0,
      duplicated: 0,
      contentMismatches: 0,
      invalidNotDeadLetteredOnFirstReceive: 0,
      retries: invocations.reduce((n, i) => n + i.failed, 0),
      mostReceives: mostReceives(invocations),
      killedInvocations: invocations.filter((i) => i.killed && !i.timedOut).length,
      timedOutInvocations: invocations.filter((i) => i.timedOut).length,
      slowestInvocationMs: Math.max(0, ...invocations.filter((i) => !i.killed).map((i) => i.ms)),
      clarifaiRequests: standIn.requests.length,
      throttledRequests: standIn.requests.filter((r) => r.httpStatus === 429).length,
      elapsedMs: 0,
      problems: [],
    };
    const messageIdOf = new Map([...messageToIndex].map(([id, index]) => [index, id]));
    const killedWith = new Map<string, number>();
    for (const info of invocations.filter((i) => i.killed))
      for (const id of info.messageIds) killedWith.set(id, (killedWith.get(id) ?? 0) + 1);
    // Annotations per event id, whatever their ids: a second annotation for one event would be a duplicate.
    const byEvent = new Map<string, number>();
    for (const a of stored.values()) {
      const eventId = String(
        (a.annotation.annotation_info as Record<string, unknown> | undefined)?.event_id ?? "",
      );
      byEvent.set(eventId, (byEvent.get(eventId) ?? 0) + 1);
    }
    sent.forEach((event, index) => {
      const dead = deadByIndex.get(index) ?? [];
      const present = event.expected.filter((a) => stored.has(a.id));
      const fullyDelivered = event.expected.length > 0 && present.length === event.expected.length;
      const eventId = `soak-${index}`;
      if ((byEvent.get(eventId) ?? 0) > event.expected.length) {
        tally.duplicated += 1;
        tally.problems.push(
          `${eventId}: ${byEvent.get(eventId)} annotations for ${event.expected.length} expected`,
        );
      }
      if (fullyDelivered && dead.length === 0) {
        tally.delivered += 1;
        for (const a of event.expected) {
          const got = stored.get(a.id)?.annotation ?? {};
          const same =
            isDeepStrictEqual(got.data, a.data) &&
            got.input_id === a.input_id &&
            got.task_id === a.task_id &&
            isDeepStrictEqual(got.annotation_info, a.annotation_info);
          if (!same) {
            tally.contentMismatches += 1;
            tally.problems.push(`${eventId}: stored annotation ${a.id} differs from the event`);
          }
        }
      } else if (dead.length > 0) {
        if (fullyDelivered && event.kind !== "rejected") {
          tally.duplicated += 1;
          tally.problems.push(`${eventId}: both delivered and dead-lettered`);
        }
        const code = dead[0]?.messageAttributes?.errorCode?.StringValue ?? "(redrive policy)";
        tally.deadLettered[code] = (tally.deadLettered[code] ?? 0) + 1;
        tally.deadLetterCopies += dead.length - 1;
        if (!dead.some((m) => m.body === event.body))
          tally.problems.push(`${eventId}: dead letter does not carry the original body`);
        // On its first receive, or on the first after the invocations that were killed while holding it (a
        // killed invocation dead-letters nothing, as on Lambda).
        const firstHandled = 1 + (killedWith.get(messageIdOf.get(index) ?? "") ?? 0);
        if (
          event.kind === "invalid" &&
          !dead.some((m) => Number(m.messageAttributes?.receiveCount?.StringValue) <= firstHandled)
        ) {
          tally.invalidNotDeadLetteredOnFirstReceive += 1;
          tally.problems.push(`${eventId}: invalid, but not dead-lettered on its first receive`);
        }
        if (event.kind === "valid" || event.kind === "native")
          tally.problems.push(
            `${eventId}: valid event dead-lettered (${code}: ${dead[0]?.messageAttributes?.reason?.StringValue ?? "no reason"})`,
          );
      } else {
        tally.lost += 1;
        tally.problems.push(
          `${eventId}: lost (${present.length} of ${event.expected.length} annotations, no dead letter)`,
        );
      }
    });
    tally.elapsedMs = Date.now() - started;
    return tally;
  } finally {
    for (const instance of instances) await instance.close();
    await env.close();
    stopHog?.();
  }
}

/** How many invocations held the message held by the most. */
function mostReceives(invocations: readonly InvokeInfo[]): number {
  const held = new Map<string, number>();
  for (const info of invocations) for (const id of info.messageIds) held.set(id, (held.get(id) ?? 0) + 1);
  return Math.max(0, ...held.values());
}

export function formatTally(t: SoakTally): string {
  const dead = Object.entries(t.deadLettered)
    .sort()
    .map(([code, n]) => `    ${code.padEnd(28)} ${n}`);
  return [
    `  sent                       ${t.sent}`,
    `  delivered                  ${t.delivered}`,
    `  dead-lettered              ${Object.values(t.deadLettered).reduce((a, b) => a + b, 0)}`,
    ...dead,
    `  dead-letter copies         ${t.deadLetterCopies}   (extra copies from duplicate deliveries of a poison message)`,
    `  lost                       ${t.lost}`,
    `  duplicated                 ${t.duplicated}`,
    `  content mismatches         ${t.contentMismatches}`,
    `  record retries             ${t.retries}`,
    `  most receives of one event ${t.mostReceives}   (dead-lettered at ${DEFAULTS.maxReceiveCount})`,
    `  killed invocations         ${t.killedInvocations}`,
    `  timed-out invocations      ${t.timedOutInvocations}`,
    `  slowest invocation         ${(t.slowestInvocationMs / 1000).toFixed(1)} s`,
    `  Clarifai requests          ${t.clarifaiRequests} (${t.throttledRequests} throttled)`,
    `  elapsed                    ${(t.elapsedMs / 1000).toFixed(1)} s`,
  ].join("\n");
}
