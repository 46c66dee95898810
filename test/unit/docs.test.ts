import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "@jest/globals";

/**
 * The docs hold together: every relative link and anchor between the pages resolves, and every shell command shown
 * in a fenced `sh` block either runs here (marked `<!-- check: run -->`, and the test runs it) or says why it
 * cannot (`<!-- check: needs AWS -->`, ...). The README stays a five-minute read.
 */
const ROOT = process.cwd();

function markdownFiles(): string[] {
  const found = ["README.md", "SECURITY.md", "CHANGELOG.md"];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, dir))) {
      const rel = path.join(dir, name);
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith(".md")) found.push(rel);
    }
  };
  for (const dir of ["docs", "lambda", "local", "bench", "examples"]) walk(dir);
  return found.filter((f) => !f.includes("node_modules"));
}

/** Text outside fenced code blocks and inline code, where links are links. */
function prose(text: string): string {
  return text.replace(/^\s*```[\s\S]*?^\s*```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of text.replace(/^\s*```[\s\S]*?^\s*```/gm, "").split("\n")) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = (heading[1] as string)
      .replace(/`/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const files = markdownFiles();

test.each(files)("%s: every relative link and anchor resolves", (file) => {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const broken: string[] = [];
  for (const match of prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [pathPart, anchor] = target.split("#") as [string, string | undefined];
    const resolved = pathPart ? path.normalize(path.join(path.dirname(file), pathPart)) : file;
    if (!existsSync(path.join(ROOT, resolved))) {
      broken.push(`${target} (no ${resolved})`);
      continue;
    }
    if (anchor !== undefined) {
      if (!resolved.endsWith(".md") || statSync(path.join(ROOT, resolved)).isDirectory()) continue;
      if (!anchors(readFileSync(path.join(ROOT, resolved), "utf8")).has(anchor))
        broken.push(`${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  expect(broken).toEqual([]);
});

const shBlocks = files.flatMap((file) => {
  const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
  return lines.flatMap((line, i) => {
    if (line.trim() !== "```sh") return [];
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
    const marker = /<!-- check: (.+?) -->/.exec(lines[i - 1] ?? "")?.[1];
    return [{ file, line: i + 1, marker, command: lines.slice(i + 1, end).join("\n") }];
  });
});

test("every sh block says whether it runs here, or why not", () => {
  expect(shBlocks.filter((b) => !b.marker).map((b) => `${b.file}:${b.line}`)).toEqual([]);
  expect(shBlocks.filter((b) => b.marker === "run").length).toBeGreaterThan(0);
});

describe("sh blocks marked run", () => {
  test.each(
    shBlocks.filter((b) => b.marker === "run").map((b) => [`${b.file}:${b.line}`, b.command] as const),
  )(
    "%s runs offline and exits 0",
    async (_where, command) => {
      const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", command], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: "" },
        timeout: 120_000,
      });
      expect(stdout.length).toBeGreaterThan(0);
    },
    180_000,
  );
});

test("the README is a five-minute read: at most 250 lines, deploy and Label Studio reached from its first screen", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  expect(readme.split("\n").length).toBeLessThanOrEqual(250);
  // The first screen (the opening lines and the table of contents GitHub shows) names both.
  expect([...anchors(readme)]).toEqual(
    expect.arrayContaining(["deploy-to-aws", "connect-your-labeling-tool"]),
  );
  expect(readme.slice(0, 2500)).toMatch(/Label Studio/);
});
