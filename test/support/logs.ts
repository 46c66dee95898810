import { jest } from "@jest/globals";

/**
 * Captures everything written to stdout and stderr (Powertools' JSON logs, errors included, and EMF metrics) so
 * tests can read it, and keeps it off the test report.
 */
export function captureStdout(): { lines: () => string[]; restore: () => void } {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  const out = jest.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = jest.spyOn(process.stderr, "write").mockImplementation(capture);
  return {
    lines: () => chunks.join("").split("\n").filter(Boolean),
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}
