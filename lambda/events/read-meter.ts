import { type Failure, permanent, retryable } from "../failure.js";

/**
 * Reading a record against the invocation's clock. Parsing, RLE and PNG decoding, cutting masks and encoding them
 * are synchronous, so a record that would take longer than its share would otherwise run the function past its
 * timeout and fail its whole batch. The handler runs each record's reading inside `withReadMeter`; the heavy loops
 * call `chargeWork` (a unit is a pixel or a frame) and the meter looks at the clock every so often. Past the
 * deadline the record's reading stops with `OverTime`: a retry when the record did not have the invocation to
 * itself (it may fit when it comes first), a dead letter `record-too-slow` naming the time it took when it did.
 *
 * The meter is scoped to one synchronous call (no await happens inside a record's reading), so one slot is enough;
 * with no meter installed (tests, the CLI's dry run) nothing is charged.
 */
export interface ReadMeter {
  /** When reading must stop (epoch ms). */
  readonly deadline: number;
  /** True when this record had the reading share to itself: running out then is permanent. */
  readonly alone: boolean;
  /** When the record's reading began (epoch ms). */
  readonly startedAt: number;
}

/** A record's reading that ran out of its time: its failure as it stands (retryable, or permanent when alone). */
export class OverTime extends Error {
  override readonly name = "OverTime";
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

let current: ReadMeter | undefined;
let charged = 0;
/** Units between two looks at the clock: about a millisecond of pixel work. */
const CHECK_EVERY = 1 << 18;

/** Runs `read(a, b)` with `meter` installed; the meter is removed after, whatever `read` does. */
export function withReadMeter<T, A, B>(meter: ReadMeter, read: (a: A, b: B) => T, a: A, b: B): T {
  const outer = current;
  current = meter;
  charged = 0;
  try {
    return read(a, b);
  } finally {
    current = outer;
  }
}

/** Counts `units` of work and, every so often, stops the reading if its time is up. */
export function chargeWork(units: number): void {
  const meter = current;
  if (!meter) return;
  charged += units;
  if (charged < CHECK_EVERY) return;
  charged = 0;
  checkTime(meter);
}

/** Stops the reading now if its time is up (for loops whose steps are large). */
export function checkReadTime(): void {
  if (current) checkTime(current);
}

function checkTime(meter: ReadMeter): void {
  const now = Date.now();
  if (now < meter.deadline) return;
  const took = ((now - meter.startedAt) / 1000).toFixed(1);
  throw new OverTime(
    meter.alone
      ? permanent(
          "record-too-slow",
          `reading this event took more than ${took} s, all the time an invocation gives it: raise the function's timeout (functionTimeout) and memorySize (more memory is more CPU), or send it in smaller events`,
        )
      : retryable(
          "record-too-slow",
          `reading this event did not finish in the ${took} s left for it in this invocation; it is read again first on a later receive`,
        ),
  );
}
