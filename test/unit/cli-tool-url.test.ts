import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { readSource, SourceUsageError } from "../../bin/cli/audit-source.js";

/**
 * The CLI sends LABEL_STUDIO_TOKEN or CVAT_TOKEN with every request to `--tool-url`: as the puller requires, that is
 * https, or plain http only to this machine. A refused URL is a usage error before any request is made.
 */
describe("--tool-url carries a token: https, or http only to this machine", () => {
  const saved = { ls: process.env.LABEL_STUDIO_TOKEN, cvat: process.env.CVAT_TOKEN };
  beforeEach(() => {
    process.env.LABEL_STUDIO_TOKEN = "ls-token-0123456789";
    process.env.CVAT_TOKEN = "cvat-token-0123456789";
  });
  afterEach(() => {
    for (const [k, v] of [
      ["LABEL_STUDIO_TOKEN", saved.ls],
      ["CVAT_TOKEN", saved.cvat],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  test.each([
    ["label-studio:12", "http://labelstudio.example.com"],
    ["cvat:7", "http://10.0.0.7:8080"],
    ["label-studio:12", "http://127.0.0.1.example.com"],
    ["cvat:7", "ftp://cvat.example.com"],
    ["label-studio:12", "not a url"],
  ])("%s at %s is refused before any request", async (source, url) => {
    const fetched: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL | Request) => {
      fetched.push(String(input));
      throw new Error("no request may be made");
    }) as typeof fetch;
    try {
      await expect(readSource(source, url, 1, [])).rejects.toThrow(SourceUsageError);
      await expect(readSource(source, url, 1, [])).rejects.toThrow(/https:\/\/|not a URL/);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(fetched).toEqual([]);
  });

  test("https anywhere and http to a loopback host pass the rule (the request is then made)", async () => {
    for (const url of ["https://labelstudio.example.com", "http://127.0.0.1:9", "http://localhost:9"]) {
      const outcome = await readSource("label-studio:12", url, 1, []).catch((e: unknown) => e);
      expect(outcome).not.toBeInstanceOf(SourceUsageError);
    }
  });
});
