import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { main } from "../../bin/cli.js";
import { PROFILE_NAMES, PROFILES } from "../../local/clarifai/profiles.js";
import { type ClarifaiStandIn, startClarifaiStandIn } from "../../local/clarifai/stand-in.js";

/**
 * `clarifai-bridge doctor` against the stand-in in every profile: it must name the profile, say the default
 * configuration is safe, leave no probe annotation behind, and fail where a configuration is not safe.
 */
const PAT = "pat-doctor-8c21";
let standIn: ClarifaiStandIn;
const saved = { ...process.env };

beforeAll(async () => {
  standIn = await startClarifaiStandIn({
    personalAccessTokens: { [PAT]: "acme" },
    tasks: { "street-audit": { review: "MANUAL", workers: ["acme"] } },
    // As in a real app, only the inputs it holds exist: the doctor's first refusal probe names one that does not.
    inputExists: (id) => ["in-1", "clip-1", "doc-1"].includes(id),
  });
  process.env.CLARIFAI_PAT = PAT;
});
afterAll(async () => {
  process.env = saved;
  await standIn.close();
});
afterEach(() => {
  standIn.reset();
  standIn.rules.acceptInvertedBoxes = false;
});

async function doctor(...extra: string[]) {
  const out: string[] = [];
  const code = await main(
    [
      "doctor",
      "--app",
      "acme/photos",
      "--task",
      "street-audit",
      "--input",
      "in-1",
      "--api-base",
      standIn.url,
      ...extra,
    ],
    { out: (line: string) => out.push(line), err: (line: string) => out.push(line) },
  );
  return { code, out };
}

describe.each(PROFILE_NAMES)("against the stand-in profile %s", (name) => {
  test("names the profile, finds the default configuration safe, and cleans up", async () => {
    standIn.setProfile(name);
    const { code, out } = await doctor();
    expect(out.join("\n")).toContain(`matches stand-in profile: ${name}`);
    expect(code).toBe(0);
    expect(out.at(-1)).toBe("the bridge's configuration is safe with this Clarifai");
    expect(standIn.annotations().filter((a) => a.id.startsWith("cab-doctor-"))).toEqual([]);
  });
});

describe.each(["default", "whole-request"] as const)(
  "a Clarifai that checks no box geometry (%s)",
  (name) => {
    test("the inverted-box probe is inconclusive, the documented refusal still proves the shape: exit 3", async () => {
      standIn.setProfile(name);
      standIn.rules.acceptInvertedBoxes = true;
      const { code, out } = await doctor();
      const text = out.join("\n");
      expect(text).toMatch(
        /\(inverted box\) .*Clarifai accepted an inverted box .* inconclusive .*stays unconfirmed/,
      );
      // The input that does not exist is refused, so the refusal shape is still proved by the first probe.
      expect(text).toMatch(
        new RegExp(
          `\\(missing input\\) .*${name === "default" ? "refused alone" : "the whole request refused"}.* ${name === "default" ? "per-item" : "whole-request"} +yes`,
        ),
      );
      expect(text).toMatch(/inconclusive rows \(their premise did not happen\):/);
      expect(text).toContain("matches no stand-in profile: some behaviours were not proved");
      expect(out.at(-1)).toMatch(/^safe where proved; 1 row\(s\) inconclusive/);
      expect(code).toBe(3);
      expect(standIn.annotations().filter((a) => a.id.startsWith("cab-doctor-"))).toEqual([]);
    });
  },
);

test("each label kind is posted on an input that holds it, read back, and cleaned up", async () => {
  standIn.setProfile("default");
  const { code, out } = await doctor("--video-input", "clip-1", "--text-input", "doc-1");
  const text = out.join("\n");
  for (const kind of ["points", "keypoint skeletons", "masks", "text spans", "video frames"])
    expect(text).toMatch(new RegExp(`label kind: ${kind} .*listed back +accepted +yes`));
  expect(code).toBe(0);
  expect(standIn.annotations().filter((a) => a.id.startsWith("cab-doctor-"))).toEqual([]);
  // Without the video and text inputs those two are not probed.
  const plain = (await doctor()).out.join("\n");
  expect(plain).not.toContain("label kind: video frames");
  expect(plain).toContain("label kind: masks");
});

test("--json carries every row's verdict and premise", async () => {
  standIn.setProfile("default");
  standIn.rules.acceptInvertedBoxes = true;
  const { code, out } = await doctor("--json");
  const report = JSON.parse(out[0] as string) as {
    verdict: string;
    safe: boolean;
    inconclusive: number;
    findings: { behaviour: string; verdict: string; premise?: string }[];
  };
  expect(code).toBe(3);
  expect(report).toMatchObject({ verdict: "inconclusive", safe: false, inconclusive: 1 });
  const inverted = report.findings.find((f) => f.behaviour.includes("(inverted box)"));
  expect(inverted).toMatchObject({ verdict: "inconclusive", premise: expect.stringContaining("refuses") });
});

test("a configuration the profile cannot serve exits non-zero and says why", async () => {
  // The task_id filter reads only annotation_info.task_id, and the bridge writes only task_id.
  standIn.setProfile("task-filter-info");
  const { code, out } = await doctor("--task-link", "task_id");
  expect(code).toBe(1);
  expect(out.join("\n")).toMatch(/ListAnnotations task_id filter .* NO .*would find nothing/);
  expect(out.at(-1)).toMatch(/^NOT SAFE/);
});

test("a task that does not exist, or a key the app refuses, is reported; the key is never printed", async () => {
  standIn.setProfile("default");
  const missing = await main(
    [
      "doctor",
      "--app",
      "acme/photos",
      "--task",
      "no-such-task",
      "--input",
      "in-1",
      "--api-base",
      standIn.url,
    ],
    { out: () => undefined, err: () => undefined },
  );
  expect(missing).toBe(1);
  process.env.CLARIFAI_PAT = "pat-wrong-key-77";
  const { code, out } = await doctor();
  process.env.CLARIFAI_PAT = PAT;
  expect(code).toBe(1);
  expect(out.join("\n")).toMatch(/key reaches the app .* NO/);
  expect(out.join("\n")).not.toContain("pat-wrong-key-77");
  expect(Object.keys(PROFILES)).toContain("harsh");
});
