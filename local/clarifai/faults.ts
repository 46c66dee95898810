import type { IncomingMessage, ServerResponse } from "node:http";
import type { Faults, PendingRecord, ScriptedAnswer } from "./types.js";

/**
 * The stand-in's faults, as a gateway in front of Clarifai would produce them: latency before anything is read,
 * then (after authentication) a scripted answer or a random one: a dropped connection, a throttle (429 with
 * CONN_THROTTLED, over `throttleAboveRps` per key), a 5xx. `lose-answer` is left to the operations, which do the
 * work and then drop the answer.
 */
type Send = (
  res: ServerResponse | undefined,
  httpStatus: number,
  body: unknown,
  headers?: Record<string, string>,
  record?: PendingRecord,
) => void;
type Status = (code: number, description: string, details?: string) => unknown;

export interface FaultGate {
  /** Waits the configured latency, jitter and occasional slow answer. */
  delay(): Promise<void>;
  /**
   * Answers with a fault when one is due: `answered` (nothing more to do), `lose-answer` (do the work, drop the
   * answer), or undefined (answer normally).
   */
  answer(
    req: IncomingMessage,
    res: ServerResponse,
    token: string,
    record: PendingRecord,
    /** When the request's first byte came (Date.now()): what the throttle counts. @default now */
    arrivedAt?: number,
  ): "answered" | "lose-answer" | undefined;
  /** Forgets the throttle's request times. */
  reset(): void;
}

export function createFaultGate(faults: Faults, send: Send, status: Status): FaultGate {
  const recent = new Map<string, number[]>(); // key -> request times, for throttling

  /**
   * Over the limit in the second before the request arrived (its first byte, as a gateway counts, not when this
   * single-threaded stand-in got round to it: a busy event loop would otherwise bunch requests that arrived apart).
   */
  function isThrottled(token: string, arrivedAt: number): boolean {
    if (faults.throttleAboveRps === undefined) return false;
    const times = (recent.get(token) ?? []).filter((t) => t > arrivedAt - 2000);
    const over =
      times.filter((t) => t > arrivedAt - 1000 && t <= arrivedAt).length >= faults.throttleAboveRps;
    if (!over) times.push(arrivedAt);
    recent.set(token, times);
    return over;
  }

  return {
    async delay() {
      const latency =
        faults.latencyMs +
        Math.random() * faults.jitterMs +
        (Math.random() < faults.slowRate ? faults.slowMs : 0);
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    },
    answer(req, res, token, record, arrivedAt = Date.now()) {
      // The script's next answer, unless it waits for a request of another method.
      const head = faults.script[0];
      const on = typeof head === "object" && "on" in head ? head : undefined;
      let scripted: ScriptedAnswer | undefined;
      if (head !== undefined && (!on || on.on === req.method)) {
        faults.script.shift();
        scripted = on ? on.answer : (head as ScriptedAnswer);
      }
      if (scripted === "drop" || (!scripted && Math.random() < faults.dropConnectionRate)) {
        send(undefined, 0, {}, {}, record); // recorded as unanswered (HTTP status 0)
        req.socket.destroy();
        return "answered";
      }
      if (scripted === "throttle" || (!scripted && isThrottled(token, arrivedAt))) {
        const headers: Record<string, string> = faults.retryAfterSeconds
          ? { "Retry-After": String(faults.retryAfterSeconds) }
          : {};
        const limit = `exceeded limit of ${faults.throttleAboveRps ?? 15} requests per second`;
        send(res, 429, { status: status(11005, "Making too many requests", limit) }, headers, record);
        return "answered";
      }
      if (scripted === "lose-answer") return "lose-answer";
      if (scripted) {
        send(
          res,
          scripted.httpStatus,
          scripted.body ?? { status: status(98004, "Internal error") },
          {},
          record,
        );
        return "answered";
      }
      if (Math.random() < faults.serverErrorRate) {
        send(res, 503, "Service Unavailable", {}, record);
        return "answered";
      }
      return undefined;
    },
    reset: () => recent.clear(),
  };
}
