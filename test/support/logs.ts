import { jest } from "@jest/globals";

/**
 * Captures everything written to stdout (Powertools' JSON logs and EMF metrics) so tests can read it, and keeps
 * it off the test report.
 */
export function captureStdout(): { lines: () => string[]; restore: () => void } {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  });
  return {
    lines: () => chunks.join("").split("\n").filter(Boolean),
    restore: () => spy.mockRestore(),
  };
}
