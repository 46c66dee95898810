/** The rows the benchmark measures and the report prints, apart from both (harness.ts, profile.ts and report.ts share them). */

/** One case's figures, as the harness measured them. */
export interface Row {
  /** Mean time the stand-in took to answer a POST in this case (its configured latency plus its own work). */
  serverMs: number;
  impl: string;
  caseName: string;
  delivered: number;
  eventsPerSecond: number;
  requests: number;
  throttledPct: number;
  p50: number;
  p99: number;
  cpuUsPerEvent: number;
  /** The main thread's share of cpuUsPerEvent. */
  mainCpuUsPerEvent: number;
  /** Direct mode: CPU per event over the second half of the measured events, to tell warm-up from steady work. */
  warm?: { cpuUsPerEvent: number; mainCpuUsPerEvent: number; fromEvent: number };
  peakRssMb: number;
  deadLettered: number;
  invocations: number;
  /** The invocations' durations added up, each rounded up to the millisecond as Lambda bills them. */
  billedMs: number;
}

/** One function's self time on the main thread, per event, in the second half of a profiled run. */
export interface ProfileRow {
  readonly fn: string;
  readonly where: string;
  readonly usPerEvent: number;
  readonly share: number;
}
