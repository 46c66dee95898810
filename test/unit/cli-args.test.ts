import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import { UsageError } from "../../bin/cli/args.js";
import { main, runCli } from "../../bin/cli.js";

/**
 * The CLI's conventions (issue 34's list): an unknown command or option is an error naming it, exit 2, with a
 * pointer to `<command> --help`, whether or not --help is given; options another command takes are refused; a
 * mapping that cannot be read or is not JSON is named, with the line and column.
 */
const io = { out: (_: string) => undefined, err: (_: string) => undefined };
let errors: string[];
beforeEach(() => {
  errors = [];
  jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    errors.push(a.join(" "));
  });
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe("the CLI's conventions", () => {
  test.each([
    [["sned", "--help"], /unknown command "sned" \(see "clarifai-bridge --help"\)/],
    [["sned"], /unknown command "sned"/],
    [["dlq", "purge"], /"dlq" takes list or redrive, not "purge"/],
    [
      ["send", "x.json", "--queue", "http://x"],
      /unknown option --queue \(see "clarifai-bridge send --help"\)/,
    ],
    [
      ["send", "x.json", "--dry-run", "--task", "bogus", "--repair"],
      /--task is not an option of send \(see "clarifai-bridge send --help"\)/,
    ],
    [["dlq", "list", "--queue-url", "q"], /--queue-url is not an option of dlq list/],
    [
      ["send", "x.json", "--queue-url"],
      /--queue-url.*argument missing.*\(see "clarifai-bridge send --help"\)/,
    ],
  ])("%j is a usage error naming it, exit 2", async (argv, message) => {
    await expect(main(argv, io)).rejects.toThrow(UsageError);
    await expect(main(argv, io)).rejects.toThrow(message);
    expect(await runCli(argv)).toBe(2);
    expect(errors.join("\n")).toMatch(message);
  });

  test("a command's own options and --help are taken", async () => {
    const out: string[] = [];
    expect(await main(["send", "--help"], { out: (s) => out.push(s), err: () => undefined })).toBe(0);
    expect(out.join("\n")).toContain("Usage: clarifai-bridge send");
    expect(await main(["dlq", "list", "--help"], { out: (s) => out.push(s), err: () => undefined })).toBe(0);
  });

  test("a mapping file that is missing or not JSON is named, with the line and column", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "bridge-cli-"));
    const bad = path.join(dir, "mapping.json");
    await writeFile(bad, '{\n  "projects": {\n    oops\n  }\n}\n');
    await expect(main(["send", "examples/events", "--dry-run", "--mapping", bad], io)).rejects.toThrow(
      new RegExp(
        `the mapping file ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not JSON \\(line 3, column 5\\)`,
      ),
    );
    const missing = path.join(dir, "nowhere.json");
    await expect(main(["send", "examples/events", "--dry-run", "--mapping", missing], io)).rejects.toThrow(
      `the mapping file ${missing} cannot be read: there is no such file`,
    );
    expect(await runCli(["send", "examples/events", "--dry-run", "--mapping", missing])).toBe(2);
  });
});
