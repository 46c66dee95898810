import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { GOLDEN_MAPPING } from "../support/golden.js";
import { hostileBodies } from "../support/hostile.js";

const options = (attributes: Record<string, string> = {}) => ({
  taskLink: "both" as const,
  defaultApp: { userId: "acme", appId: "street-scenes" },
  upstream: GOLDEN_MAPPING,
  receivedAt: new Date("2026-11-28T00:00:00Z"),
  attributes,
});

describe("hostile bodies, read with a mapping so they reach the adapters", () => {
  for (const hostile of hostileBodies()) {
    test(`${hostile.name}: ${hostile.fine ? "delivered" : "one permanent failure"}, never a throw`, () => {
      const parsed = parseRecord(hostile.body, options(hostile.attributes));
      if (hostile.fine) {
        expect(parsed.ok ? "ok" : parsed.failure.reason).toBe("ok");
        return;
      }
      expect(parsed.ok).toBe(false);
      if (parsed.ok) return;
      expect(parsed.failure.kind).toBe("permanent");
      expect(parsed.failure.code).toMatch(/^[a-z-]+$/);
      // Short enough for a log line and an SQS attribute; never the whole payload echoed back.
      expect(parsed.failure.reason.length).toBeGreaterThan(0);
      expect(parsed.failure.reason.length).toBeLessThan(2_000);
    });
  }

  test("the reasons name the field and the rule", () => {
    const reasons = Object.fromEntries(
      hostileBodies().map((h) => {
        const parsed = parseRecord(h.body, options(h.attributes));
        return [h.name, parsed.ok ? "ok" : `${parsed.failure.code}: ${parsed.failure.reason}`];
      }),
    );
    expect(reasons["ls-result-null-item"]).toMatch(
      /^invalid-upstream: Label Studio payload: annotation\.result\[0\]: .*object/,
    );
    expect(reasons["ls-id-object-with-tostring"]).toMatch(/^invalid-upstream: .*annotation\.id/);
    expect(reasons["ls-input-id-dot-dot"]).toMatch(/inputId: must not be "\." or "\.\."/);
    expect(reasons["lb-project-null"]).toMatch(/^invalid-upstream: Labelbox payload: projects\.p/);
    expect(reasons["gt-annotations-null-item"]).toMatch(
      /^invalid-upstream: Ground Truth line: street-boxes\.annotations\[0\]/,
    );
    expect(reasons["native-data-deep-no-id"]).toMatch(
      /^invalid-event: annotations\[0\]\.data: nests deeper than 32 levels/,
    );
    expect(reasons["canonical-metadata-deep"]).toMatch(
      /^invalid-event: metadata: nests deeper than 32 levels/,
    );
    expect(reasons["native-user-app-dot-dot"]).toMatch(/user_app_id\.user_id: must be letters, digits/);
    expect(reasons["canonical-huge-many-members"]).toMatch(/^record-too-large: /);
  });

  test("a Label Studio body of 990 KiB of choices is read in linear time", () => {
    const items = Array.from({ length: 9_000 }, (_, i) => ({
      id: `c${i}`,
      from_name: "scene",
      type: "choices",
      value: { choices: [`label-${i % 50}`] },
    }));
    const body = JSON.stringify({
      action: "ANNOTATION_CREATED",
      annotation: { id: 1, task: 2, project: 12, result: items, updated_at: "2026-11-20T09:14:03Z" },
      task: { id: 2, data: { clarifai_input_id: "in-1" } },
      project: { id: 12 },
    });
    // CPU time of this process, not the wall clock: other suites running beside it (jest's workers, a busy CI
    // machine) stretch the wall clock, not the work done here.
    const started = process.cpuUsage();
    const parsed = parseRecord(body, options());
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    expect(parsed.ok).toBe(true);
    // Not a benchmark: a guard against quadratic work (0.57 s before; linear work is a few ms).
    expect(ms).toBeLessThan(400);
  });
});
