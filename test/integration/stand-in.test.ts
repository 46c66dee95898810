import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { type ClarifaiStandIn, startClarifaiStandIn } from "../../local/clarifai/stand-in.js";

/** The stand-in must hold to ../shared/clarifai-api.md, or every test built on it proves nothing. */
let standIn: ClarifaiStandIn;
const PAT = "pat-1";
const APP_KEY = "app-key-1";

beforeAll(async () => {
  standIn = await startClarifaiStandIn({
    personalAccessTokens: { [PAT]: "alice" },
    appKeys: { [APP_KEY]: { userId: "alice", appId: "photos" } },
    inputExists: (id) => id !== "ghost",
    taskExists: (id) => id !== "no-such-task",
  });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

const post = async (path: string, body: unknown, key = PAT) => {
  const response = await fetch(standIn.url + path, {
    method: "POST",
    headers: { Authorization: `Key ${key}`, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    http: response.status,
    body: (await response.json()) as {
      status: { code: unknown; details?: string };
      annotations?: { id: string; status: { code: unknown } }[];
    },
  };
};
const PAT_PATH = "/v2/users/alice/apps/photos/annotations";
const annotation = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  input_id: "in-1",
  task_id: "t",
  data: { concepts: [{ id: "c", value: 1 }] },
  ...extra,
});

describe("Clarifai stand-in", () => {
  test("both URL forms: a PAT names the app in the path, an app key names it itself", async () => {
    expect((await post(PAT_PATH, { annotations: [annotation("a1")] })).http).toBe(200);
    expect((await post("/v2/annotations", { annotations: [annotation("a2")] }, APP_KEY)).http).toBe(200);
    expect(
      standIn
        .annotations()
        .map((a) => `${a.app}:${a.id}`)
        .sort(),
    ).toEqual(["alice/photos:a1", "alice/photos:a2"]);
  });

  test("a bad key, a PAT without an app, and a PAT for another user are refused", async () => {
    expect(await post(PAT_PATH, { annotations: [annotation("a")] }, "wrong")).toMatchObject({
      http: 401,
      body: { status: { code: 11009 } },
    });
    expect(await post("/v2/annotations", { annotations: [annotation("a")] })).toMatchObject({
      http: 400,
      body: { status: { code: 11102 } },
    });
    expect(
      await post("/v2/users/bob/apps/photos/annotations", { annotations: [annotation("a")] }),
    ).toMatchObject({ http: 401, body: { status: { code: 11007 } } });
  });

  test.each([
    [
      "an unknown field",
      { annotations: [annotation("a", { colour: "red" })] },
      /annotations\[0\]\.colour: unknown field/,
    ],
    [
      "a string where a float goes",
      { annotations: [annotation("a", { data: { concepts: [{ id: "c", value: "high" }] } })] },
      /value: must be a number/,
    ],
    [
      "a number where a string goes",
      { annotations: [annotation("a", { input_id: 7 })] },
      /input_id: must be a string/,
    ],
    ["not JSON", "{", /not JSON/],
  ])("%s is refused as a bad request format, per the proto", async (_name, body, details) => {
    const answer = await post(PAT_PATH, body);
    expect(answer).toMatchObject({ http: 400, body: { status: { code: 11100 } } });
    expect(answer.body.status.details).toMatch(details);
  });

  test("deprecated fields are taken (Clarifai's own doc examples send them); more than 128 annotations are a bad request format", async () => {
    expect((await post(PAT_PATH, { annotations: [annotation("a", { user_id: "alice" })] })).http).toBe(200);
    const many = Array.from({ length: 129 }, (_, i) => annotation(`a${i}`));
    expect(await post(PAT_PATH, { annotations: many })).toMatchObject({
      http: 400,
      body: { status: { code: 11100 } },
    });
    expect((await post(PAT_PATH, { annotations: many.slice(0, 128) })).http).toBe(200);
  });

  test("per-annotation statuses: MIXED_STATUS for unknown inputs, tasks, bad boxes and duplicate ids", async () => {
    await post(PAT_PATH, { annotations: [annotation("dup")] });
    const answer = await post(PAT_PATH, {
      annotations: [
        annotation("ok"),
        annotation("no-input", { input_id: "ghost" }),
        annotation("no-task", { task_id: "no-such-task" }),
        annotation("dup"),
        annotation("bad-box", {
          data: {
            regions: [
              { region_info: { bounding_box: { top_row: 0.5, left_col: 0, bottom_row: 0.4, right_col: 1 } } },
            ],
          },
        }),
      ],
    });
    expect(answer.http).toBe(207);
    expect(answer.body.status.code).toBe(10010);
    expect(answer.body.annotations?.map((a) => [a.id, a.status.code])).toEqual([
      ["ok", 24150],
      ["no-input", 30102],
      ["no-task", 54102],
      ["dup", 40010],
      ["bad-box", 24155],
    ]);
    expect(
      standIn
        .annotations()
        .map((a) => a.id)
        .sort(),
    ).toEqual(["dup", "ok"]);
  });

  test("codes can be sent as enum names; throttling answers 429 CONN_THROTTLED above the rate", async () => {
    standIn.faults.codesAsNames = true;
    standIn.faults.throttleAboveRps = 2;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(PAT_PATH, { annotations: [annotation(`t${i}`)] }));
    expect(answers.map((a) => [a.http, a.body.status.code])).toEqual([
      [200, "SUCCESS"],
      [200, "SUCCESS"],
      [429, "CONN_THROTTLED"],
      [429, "CONN_THROTTLED"],
    ]);
  });

  test("GET one annotation finds what was stored, under the input it belongs to", async () => {
    await post(PAT_PATH, { annotations: [annotation("g1")] });
    const get = (path: string) =>
      fetch(standIn.url + path, { headers: { Authorization: `Key ${PAT}` } }).then((r) => r.status);
    expect(await get("/v2/users/alice/apps/photos/inputs/in-1/annotations/g1")).toBe(200);
    expect(await get("/v2/users/alice/apps/photos/inputs/other/annotations/g1")).toBe(404);
    expect(await get("/v2/users/alice/apps/photos/inputs/in-1/annotations/nope")).toBe(404);
  });
});

test("ListAnnotations filters by paired ids and input ids, and refuses query parameters the proto does not know", async () => {
  await post(PAT_PATH, { annotations: [annotation("l1"), annotation("l2", { input_id: "in-2" })] });
  const list = async (query: string) => {
    const response = await fetch(`${standIn.url}${PAT_PATH}?${query}`, {
      headers: { Authorization: `Key ${PAT}` },
    });
    return {
      http: response.status,
      body: (await response.json()) as { annotations?: { id: string }[]; status: { code: number } },
    };
  };
  const found = await list(
    "ids=l1&input_ids=in-1&ids=l2&input_ids=wrong&ids=nope&input_ids=in-1&list_all_annotations=true",
  );
  expect(found.http).toBe(200);
  expect(found.body.annotations?.map((a) => a.id)).toEqual(["l1"]);
  expect((await list("input_ids=in-2")).body.annotations?.map((a) => a.id)).toEqual(["l2"]);
  expect(await list("ids=l1&colour=red")).toMatchObject({ http: 400, body: { status: { code: 11100 } } });
});

describe("behaviour profiles: each unconfirmed behaviour answers as the profile says", () => {
  const patch = async (body: unknown) => {
    const response = await fetch(standIn.url + PAT_PATH, {
      method: "PATCH",
      headers: { Authorization: `Key ${PAT}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { http: response.status, body: (await response.json()) as { status: { code: unknown } } };
  };
  const get = async (query: string) => {
    const response = await fetch(`${standIn.url}${PAT_PATH}?${query}`, {
      headers: { Authorization: `Key ${PAT}` },
    });
    const text = response.status === 200 ? await response.text() : "{}";
    return {
      http: response.status,
      ids: ((JSON.parse(text || "{}") as { annotations?: { id: string }[] }).annotations ?? []).map(
        (a) => a.id,
      ),
    };
  };
  const badBox = (id: string) =>
    annotation(id, {
      data: {
        regions: [
          { region_info: { bounding_box: { top_row: 0.5, left_col: 0, bottom_row: 0.4, right_col: 1 } } },
        ],
      },
    });
  afterAll(() => standIn.setProfile("default"));

  test("whole-request: one refused annotation refuses the request, with its code and no items; nothing is stored", async () => {
    standIn.setProfile("whole-request");
    const answer = await post(PAT_PATH, { annotations: [annotation("good"), badBox("bad")] });
    expect(answer).toMatchObject({ http: 400, body: { status: { code: 24155 } } });
    expect(answer.body.annotations).toBeUndefined();
    expect(standIn.annotations()).toEqual([]);
  });

  test("states: under SUCCESS the items carry the stored annotation's state", async () => {
    standIn.setProfile("states");
    const answer = await post(PAT_PATH, { annotations: [annotation("s1")] });
    expect(answer).toMatchObject({ http: 200, body: { status: { code: 10000 } } });
    expect(answer.body.annotations?.map((a) => a.status.code)).toEqual([24151]);
  });

  test("overwrite keeps or replaces annotation_info; data is replaced either way", async () => {
    for (const [name, expected] of [
      ["overwrite-keeps-info", "v1"],
      ["default", "v2"],
    ] as const) {
      standIn.reset();
      standIn.setProfile(name);
      await post(PAT_PATH, { annotations: [annotation("o", { annotation_info: { v: "v1" } })] });
      expect(
        (
          await patch({
            action: "overwrite",
            annotations: [
              annotation("o", { annotation_info: { v: "v2" }, data: { concepts: [{ id: "d", value: 1 }] } }),
            ],
          })
        ).http,
      ).toBe(200);
      const held = standIn.annotations()[0]?.annotation as { annotation_info: { v: string }; data: unknown };
      expect(held.annotation_info.v).toBe(expected);
      expect(held.data).toEqual({ concepts: [{ id: "d", value: 1 }] });
    }
  });

  test("the task_id filter reads task_id, annotation_info.task_id, or both", async () => {
    const seed = async () => {
      standIn.reset();
      await post(PAT_PATH, {
        annotations: [
          annotation("own", { task_id: "T" }),
          annotation("info", { task_id: undefined, annotation_info: { task_id: "T" } }),
        ],
      });
    };
    for (const [name, expected] of [
      ["default", ["own"]],
      ["task-filter-info", ["info"]],
      ["task-filter-both", ["info", "own"]],
    ] as const) {
      standIn.setProfile(name);
      await seed();
      expect((await get("task_id=T")).ids.sort()).toEqual(expected);
    }
  });

  test("a duplicate id is answered 40010, 24155 or success, and the stored one is unchanged", async () => {
    for (const [name, code] of [
      ["default", 40010],
      ["duplicate-24155", 24155],
      ["duplicate-success", 24150],
    ] as const) {
      standIn.reset();
      standIn.setProfile(name);
      await post(PAT_PATH, { annotations: [annotation("dup", { annotation_info: { v: 1 } })] });
      const again = await post(PAT_PATH, { annotations: [annotation("dup", { annotation_info: { v: 2 } })] });
      expect(again.body.annotations?.[0]?.status.code).toBe(code);
      expect(
        (standIn.annotations()[0]?.annotation as { annotation_info?: { v: number } } | undefined)
          ?.annotation_info?.v,
      ).toBe(1);
    }
  });

  test("strict: per_page capped at 1,000, a non-numeric page refused, URLs over 8 KB answered 414", async () => {
    standIn.setProfile("strict");
    expect((await get("per_page=5000")).http).toBe(200);
    expect((await get("page=abc")).http).toBe(400);
    expect((await get(`ids=${"x".repeat(9_000)}`)).http).toBe(414);
  });
});
