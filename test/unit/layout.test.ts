import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "@jest/globals";

/**
 * docs/development.md's map of folders matches the folders (as the docs test does for links), and every source
 * file over 300 lines says why in its first line. The imports themselves are held by `.dependency-cruiser.cjs`
 * (`npm run deps`, run by `npm test`).
 */
const ROOTS = ["lambda", "bin", "local", "bench", "lib"];

function foldersWithCode(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir);
  if (entries.some((e) => /\.(ts|mjs)$/.test(e))) out.push(`${dir}/`);
  for (const e of entries)
    if (statSync(path.join(dir, e)).isDirectory()) out.push(...foldersWithCode(path.join(dir, e)));
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs)$/.test(e) ? [p] : [];
  });
}

describe("the project's layout", () => {
  const doc = readFileSync("docs/development.md", "utf8");
  const map = doc.slice(doc.indexOf("<!-- layout-map: start -->"), doc.indexOf("<!-- layout-map: end -->"));
  const named = [...map.matchAll(/^\| `([^`]+\/)` \|/gm)].map((m) => m[1] as string);

  test("docs/development.md's map names every folder that holds code, and no folder that does not exist", () => {
    expect(named.length).toBeGreaterThan(10);
    const actual = ROOTS.flatMap(foldersWithCode);
    expect([...actual].sort()).toEqual([...named].sort());
  });

  test("a source file over 300 lines says why in its first line (generated code excepted)", () => {
    const long = [...ROOTS, "test"]
      .flatMap(sourceFiles)
      .filter((f) => !f.includes("/generated/"))
      .filter((f) => readFileSync(f, "utf8").split("\n").length > 301)
      .filter((f) => !/^(#!.*\n)?\/\/ Over 300 lines: \S.+/.test(readFileSync(f, "utf8")));
    expect(long).toEqual([]);
  });
});
