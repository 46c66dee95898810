import { type Behaviour, PROFILE_NAMES, PROFILES, type ProfileName } from "../../local/clarifai/profiles.js";
import type { Verdict } from "./doctor-readers.js";

/**
 * The doctor's report: its rows, the verdict they add up to (safe, unsafe, or safe where proved with some rows
 * inconclusive), the stand-in profile the proved behaviours match, and the table a person reads.
 */
export interface Finding {
  readonly behaviour: string;
  /** What must have happened for the answer to prove anything (a refusal probe: that something was refused). */
  readonly premise?: string;
  readonly answered: string;
  /** The profile value this answer is, when it is one of the modelled ones and the premise held. */
  readonly value?: string;
  /** `inconclusive`: the premise did not happen, so the answer proves nothing either way. */
  readonly verdict: Verdict;
  readonly note?: string;
}

export interface DoctorReport {
  readonly findings: Finding[];
  /** The behaviours observed, where each could be told. */
  readonly behaviour: Partial<Behaviour>;
  /** The stand-in profile whose every behaviour matches, if one does. */
  readonly profile?: ProfileName;
  /** `safe` only when every row proved safe; `inconclusive` when none is unsafe but some proved nothing. */
  readonly verdict: Verdict;
  /** Same as `verdict === "safe"`. */
  readonly safe: boolean;
  /** How many rows are inconclusive. */
  readonly inconclusive: number;
}

/** The doctor's exit codes: 0 safe, 1 not safe, 3 safe where proved with some rows inconclusive (2 is a usage error). */
export const DOCTOR_EXIT = { safe: 0, unsafe: 1, inconclusive: 3 } as const satisfies Record<Verdict, number>;

export function report(findings: Finding[], behaviour: Partial<Behaviour>): DoctorReport {
  const inconclusive = findings.filter((f) => f.verdict === "inconclusive").length;
  const verdict: Verdict = findings.some((f) => f.verdict === "unsafe")
    ? "unsafe"
    : inconclusive > 0
      ? "inconclusive"
      : "safe";
  // A profile matches only what was proved: with a row inconclusive, some behaviour is not known.
  const profile =
    inconclusive > 0
      ? undefined
      : PROFILE_NAMES.find((name) => {
          const p: Behaviour = PROFILES[name];
          return (
            p.refusal === behaviour.refusal &&
            p.itemStatus === behaviour.itemStatus &&
            p.overwrite === behaviour.overwrite &&
            p.taskFilter === behaviour.taskFilter &&
            p.duplicateId === behaviour.duplicateId &&
            p.paging === behaviour.paging &&
            (p.unknownTask ?? "task-missing") === behaviour.unknownTask &&
            (p.maxUrlBytes !== undefined) === (behaviour.maxUrlBytes !== undefined)
          );
        });
  return {
    findings,
    behaviour,
    ...(profile ? { profile } : {}),
    verdict,
    safe: verdict === "safe",
    inconclusive,
  };
}

const VERDICT_CELL: Record<Verdict, string> = { safe: "yes", unsafe: "NO", inconclusive: "inconclusive" };

/** The report as a table a person reads, and the verdict. */
export function formatReport(r: DoctorReport): string[] {
  const rows = r.findings.map((f) => [
    f.behaviour,
    f.answered,
    f.value ?? "",
    VERDICT_CELL[f.verdict],
    f.note ?? "",
  ]);
  const head = ["behaviour", "Clarifai answered", "profile value", "safe", "note"];
  const widths = head.map((h, i) =>
    Math.min(60, Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length))),
  );
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join("  ");
  const premises = r.findings
    .filter((f) => f.verdict === "inconclusive")
    .map((f) => `  ${f.behaviour}: needed "${f.premise ?? "an answer"}"; got ${f.answered}`);
  return [
    line(head),
    ...rows.map(line),
    "",
    ...(premises.length > 0 ? ["inconclusive rows (their premise did not happen):", ...premises, ""] : []),
    r.profile
      ? `matches stand-in profile: ${r.profile}`
      : r.inconclusive > 0
        ? "matches no stand-in profile: some behaviours were not proved"
        : "matches no stand-in profile exactly",
    r.verdict === "safe"
      ? "the bridge's configuration is safe with this Clarifai"
      : r.verdict === "unsafe"
        ? "NOT SAFE: fix what the rows marked NO say before going live"
        : `safe where proved; ${r.inconclusive} row(s) inconclusive: what their notes name stays unconfirmed (exit ${DOCTOR_EXIT.inconclusive})`,
  ];
}
