import { describe, expect, test } from "@jest/globals";
import {
  readDuplicate,
  readKind,
  readOverwrite,
  readPaging,
  readRefusal,
  readTaskFilter,
  readUnknownTask,
  readUrlLength,
} from "../../bin/cli/doctor-readers.js";
import type { HttpResult } from "../../lambda/clarifai/classify.js";

/**
 * Each doctor probe rests on a premise. These feed the readers answers in which the premise did not happen and
 * check the row says `inconclusive` (and proves no profile value), beside the answers that do prove one.
 */
const answer = (
  httpStatus: number,
  code: number | string,
  items?: { id?: string; code: number }[],
): HttpResult => ({
  kind: "response",
  httpStatus,
  body: {
    status: { code, description: "" },
    ...(items
      ? { annotations: items.map((i) => ({ ...(i.id ? { id: i.id } : {}), status: { code: i.code } })) }
      : {}),
  },
});
const noAnswer: HttpResult = { kind: "transport", timedOut: true, message: "timed out after 10000 ms" };
const ok = answer(200, 10000);
const sent = ["good", "bad"];

describe("refusal probe: premise, the bad annotation was refused", () => {
  test("accepted with item statuses of success (the case that once read as per-item) is inconclusive", () => {
    const r = readRefusal(
      answer(200, 10000, [
        { id: "good", code: 24150 },
        { id: "bad", code: 24150 },
      ]),
      sent,
      1,
      "an inverted box",
    );
    expect(r).toMatchObject({ verdict: "inconclusive" });
    expect(r.value).toBeUndefined();
    expect(r.answered).toContain("Clarifai accepted an inverted box");
  });
  test("accepted with item states (a reviewed task) is inconclusive too", () => {
    const items = [
      { id: "good", code: 24157 },
      { id: "bad", code: 24157 },
    ];
    expect(readRefusal(answer(200, 10000, items), sent, 1, "x").verdict).toBe("inconclusive");
  });
  test("MIXED_STATUS where only the good one failed proves nothing about the bad one", () => {
    const items = [
      { id: "good", code: 24152 },
      { id: "bad", code: 24150 },
    ];
    expect(readRefusal(answer(207, 10010, items), sent, 1, "x").verdict).toBe("inconclusive");
  });
  test("throttled, or no answer, is no refusal", () => {
    expect(readRefusal(answer(429, 11005), sent, 1, "x")).toMatchObject({ verdict: "inconclusive" });
    expect(readRefusal(noAnswer, sent, 1, "x")).toMatchObject({ verdict: "inconclusive" });
    expect(readRefusal(answer(429, "CONN_THROTTLED"), sent, 1, "x").value).toBeUndefined();
  });
  test("the bad one refused alone is per-item, by id or by position", () => {
    const byId = answer(207, 10010, [
      { id: "bad", code: 24155 },
      { id: "good", code: 24150 },
    ]);
    expect(readRefusal(byId, sent, 1, "x")).toMatchObject({ value: "per-item", verdict: "safe" });
    const byPosition = answer(207, 10010, [{ code: 24150 }, { code: 30102 }]);
    expect(readRefusal(byPosition, sent, 1, "x")).toMatchObject({ value: "per-item" });
  });
  test("the whole request refused with the bad one's code is whole-request", () => {
    expect(readRefusal(answer(400, 24155), sent, 1, "x")).toMatchObject({
      value: "whole-request",
      verdict: "safe",
    });
    expect(readRefusal(answer(400, 30102), sent, 1, "x")).toMatchObject({ value: "whole-request" });
  });
});

describe("duplicate probe: premise, the id already existed", () => {
  test("a first create that was not stored makes any answer inconclusive", () => {
    expect(readDuplicate(answer(400, 40010), "a", false, undefined)).toMatchObject({
      verdict: "inconclusive",
    });
    expect(readDuplicate(ok, "a", false, true).value).toBeUndefined();
  });
  test("success, with the annotation not listed back afterwards, is inconclusive", () => {
    expect(readDuplicate(ok, "a", true, undefined)).toMatchObject({ verdict: "inconclusive" });
  });
  test("no answer, or a throttle, is inconclusive", () => {
    expect(readDuplicate(noAnswer, "a", true, true).verdict).toBe("inconclusive");
    expect(readDuplicate(answer(429, 11005), "a", true, true).verdict).toBe("inconclusive");
  });
  test("proved answers", () => {
    expect(readDuplicate(ok, "a", true, true)).toMatchObject({ value: "success", verdict: "safe" });
    expect(readDuplicate(answer(400, 10020, [{ id: "a", code: 40010 }]), "a", true, true).value).toBe(
      "40010",
    );
    expect(readDuplicate(answer(400, 24155), "a", true, true).value).toBe("24155");
    // Replaced: proved, but no profile models it.
    expect(readDuplicate(ok, "a", true, false)).toMatchObject({ verdict: "safe" });
    expect(readDuplicate(ok, "a", true, false).value).toBeUndefined();
  });
});

describe("overwrite probe: premise, the PATCH went through and the annotation is listed back", () => {
  test("not listed back is inconclusive", () => {
    expect(readOverwrite(ok, undefined, "t1", "t2")).toMatchObject({ verdict: "inconclusive" });
  });
  test("no answer or throttled is inconclusive; a refused PATCH is unsafe", () => {
    expect(readOverwrite(noAnswer, { infoAt: "t1", dataAt: "t1" }, "t1", "t2").verdict).toBe("inconclusive");
    expect(readOverwrite(answer(429, 11005), undefined, "t1", "t2").verdict).toBe("inconclusive");
    expect(readOverwrite(answer(400, 24155), undefined, "t1", "t2").verdict).toBe("unsafe");
    expect(readOverwrite(answer(207, 10010, [{ code: 24252 }]), undefined, "t1", "t2").verdict).not.toBe(
      "safe",
    );
  });
  test("proved answers", () => {
    expect(readOverwrite(ok, { infoAt: "t2", dataAt: "t2" }, "t1", "t2")).toMatchObject({
      value: "replaces",
    });
    expect(readOverwrite(ok, { infoAt: "t1", dataAt: "t2" }, "t1", "t2")).toMatchObject({
      value: "keeps",
      verdict: "safe",
    });
    expect(readOverwrite(ok, { infoAt: "t1", dataAt: "t1" }, "t1", "t2").verdict).toBe("unsafe");
  });
});

describe("task filter probe: premise, both probes were stored and the page was not full", () => {
  test("a filter that matched nothing because nothing was stored is inconclusive", () => {
    const r = readTaskFilter(
      { byOwn: false, byInfo: false, pageFull: false },
      { own: false, info: false },
      "task_id",
    );
    expect(r).toMatchObject({ verdict: "inconclusive" });
    expect(r.value).toBeUndefined();
  });
  test("one probe missing is inconclusive even when the other matched", () => {
    const r = readTaskFilter(
      { byOwn: true, byInfo: false, pageFull: false },
      { own: true, info: false },
      "both",
    );
    expect(r.verdict).toBe("inconclusive");
  });
  test("a full page that missed a probe is inconclusive", () => {
    const r = readTaskFilter(
      { byOwn: true, byInfo: false, pageFull: true },
      { own: true, info: true },
      "both",
    );
    expect(r.verdict).toBe("inconclusive");
  });
  test("proved answers, safe or not for the link mode", () => {
    const stored = { own: true, info: true };
    expect(readTaskFilter({ byOwn: true, byInfo: true, pageFull: false }, stored, "both").value).toBe("both");
    expect(readTaskFilter({ byOwn: false, byInfo: true, pageFull: false }, stored, "task_id")).toMatchObject({
      value: "annotation_info",
      verdict: "unsafe",
    });
    expect(readTaskFilter({ byOwn: false, byInfo: false, pageFull: false }, stored, "both").verdict).toBe(
      "unsafe",
    );
    expect(readTaskFilter(undefined, stored, "both").verdict).toBe("unsafe");
  });
});

describe("paging probe: premise, numeric paging is taken", () => {
  test("page=abc lost in transport is inconclusive", () => {
    expect(readPaging(ok, noAnswer)).toMatchObject({ verdict: "inconclusive" });
  });
  test("page 2 refused (everything refused) proves nothing about page=abc", () => {
    const r = readPaging(answer(400, 10020), answer(400, 10020));
    expect(r.value).toBeUndefined();
    expect(readPaging(noAnswer, answer(400, 10020)).verdict).toBe("inconclusive");
  });
  test("proved answers", () => {
    expect(readPaging(ok, answer(400, 10020)).value).toBe("strict");
    expect(readPaging(ok, ok).value).toBe("lax");
  });
});

describe("URL length probe: premise, the long lookup was answered", () => {
  test("a long lookup lost in transport is inconclusive", () => {
    expect(readUrlLength(ok, noAnswer, 6000, 13000)).toMatchObject({ verdict: "inconclusive" });
  });
  test("proved answers", () => {
    const tooLong: HttpResult = { kind: "response", httpStatus: 414, body: undefined };
    expect(readUrlLength(ok, tooLong, 6000, 13000)).toMatchObject({ value: "limited", verdict: "safe" });
    expect(readUrlLength(ok, ok, 6000, 13000).value).toBe("no limit seen");
    expect(readUrlLength(tooLong, tooLong, 6000, 13000).verdict).toBe("unsafe");
  });
});

describe("unknown task probe: premise, the made-up task was not found", () => {
  test("a made-up task id that was found, or no answer, is inconclusive", () => {
    expect(readUnknownTask(ok, false)).toMatchObject({ verdict: "inconclusive" });
    expect(readUnknownTask(noAnswer, false)).toMatchObject({ verdict: "inconclusive" });
  });
  test("proved answers", () => {
    expect(readUnknownTask(answer(404, 54102), true).value).toBe("task-missing");
    expect(readUnknownTask(answer(400, 54102), true).value).toBe("task-missing-400");
    expect(readUnknownTask(answer(404, 10020), true).value).toBe("failure-404");
  });
});

describe("label-kind probe: premise, Clarifai answered and the probe could be right", () => {
  const one = (code: number, item?: number) =>
    answer(code === 10000 ? 200 : 400, code, item ? [{ id: "k", code: item }] : undefined);
  test("accepted and listed back: carried", () => {
    expect(readKind(one(10000, 24150), "k", true, "points")).toMatchObject({
      value: "accepted",
      verdict: "safe",
    });
  });
  test("accepted but not listed back, or no answer, or throttled: inconclusive", () => {
    expect(readKind(one(10000), "k", false, "points").verdict).toBe("inconclusive");
    expect(readKind(noAnswer, "k", false, "points").verdict).toBe("inconclusive");
    expect(readKind(answer(429, 11005), "k", false, "points").verdict).toBe("inconclusive");
  });
  test("a refused mask proves nothing (its size cannot match an input the doctor does not know); a refused point does", () => {
    expect(readKind(one(10020, 24155), "k", false, "masks", true)).toMatchObject({ verdict: "inconclusive" });
    expect(readKind(one(10020, 24155), "k", false, "points")).toMatchObject({
      value: "refused",
      verdict: "unsafe",
    });
    expect(readKind(answer(400, 24155), "k", false, "text spans").verdict).toBe("unsafe");
  });
});
