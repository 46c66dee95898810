// Over 300 lines: each tool's webhook authentication, accepted and refused, sharing the request builder.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import {
  decideWebhook,
  parseWebhookSecrets,
  sharedSecretMatches,
  signatureMatches,
  UNAUTHENTICATED,
  type WebhookOptions,
  type WebhookRequest,
} from "../../lambda/webhook/webhook.js";

const secrets = { labelStudio: "ls-token-5b1e", labelbox: "lb-secret-93ac" };
const options = { labelStudioHeader: "Authorization", maxBodyBytes: 1_040_384 };
const lsBody = readFileSync("test/fixtures/upstream/label-studio-created.json");
const lbBody = readFileSync("test/fixtures/upstream/labelbox-v2-row.json");
const sign = (algorithm: "sha256" | "sha1", body: Buffer, secret = secrets.labelbox) =>
  `${algorithm}=${createHmac(algorithm, secret).update(body).digest("hex")}`;
const request = (overrides: Partial<WebhookRequest>): WebhookRequest => ({
  method: "POST",
  path: "/label-studio",
  headers: {},
  body: lsBody,
  ...overrides,
});

describe("webhook ingress decisions", () => {
  test("Label Studio with the shared secret (bare or after a scheme word) is queued raw, with its format", () => {
    for (const header of ["ls-token-5b1e", "Token ls-token-5b1e", "Bearer ls-token-5b1e"]) {
      const decision = decideWebhook(request({ headers: { authorization: header } }), secrets, options);
      expect(decision).toEqual({
        kind: "enqueue",
        system: "label-studio",
        body: lsBody.toString("utf8"),
        attributes: { format: "label-studio" },
        groupId: "label-studio:12:4521",
        trimmed: false,
        queue: "bridge",
      });
    }
  });

  test("a wrong, missing or prefixed-but-wrong secret is 401, before the body is read", () => {
    for (const headers of [
      {},
      { authorization: "ls-token-5b1f" },
      { authorization: "Bearer " },
      { "x-other": "ls-token-5b1e" },
    ]) {
      expect(
        decideWebhook(request({ headers, body: Buffer.from("not even json") }), secrets, options),
      ).toEqual({
        kind: "reject",
        status: 401,
        code: "unauthenticated",
        message: UNAUTHENTICATED,
        reason: "missing or wrong Authorization header",
      });
    }
  });

  test("Labelbox: a valid HMAC-SHA256 (or legacy SHA-1) signature over the raw body is queued with topic and delivery id", () => {
    for (const signature of [
      { "x-hub-signature-256": sign("sha256", lbBody) },
      { "x-hub-signature": sign("sha1", lbBody) },
    ]) {
      const decision = decideWebhook(
        request({
          path: "/labelbox/",
          body: lbBody,
          headers: { ...signature, "x-labelbox-event": "LABEL_UPDATED", "x-labelbox-id": "dlv-77" },
        }),
        secrets,
        options,
      );
      expect(decision).toMatchObject({
        kind: "enqueue",
        system: "labelbox",
        attributes: { format: "labelbox", "labelbox-event": "LABEL_UPDATED", "labelbox-id": "dlv-77" },
        groupId: "labelbox:clx0lb00000042",
      });
    }
  });

  test("Labelbox: a signature with the wrong secret, over other bytes, truncated, or of the wrong kind is 401", () => {
    const tampered = Buffer.from(lbBody.toString("utf8").replace("Car", "Bus"));
    const bad = [
      { "x-hub-signature-256": sign("sha256", lbBody, "other-secret") },
      { "x-hub-signature-256": sign("sha256", tampered) },
      { "x-hub-signature-256": sign("sha256", lbBody).slice(0, 40) },
      // One digit too many, or too few: Buffer.from(hex) would drop an odd last digit and still match.
      { "x-hub-signature-256": `${sign("sha256", lbBody)}0` },
      { "x-hub-signature-256": `${sign("sha256", lbBody)}00` },
      { "x-hub-signature-256": sign("sha256", lbBody).slice(0, -1) },
      { "x-hub-signature": `${sign("sha1", lbBody)}a` },
      { "x-hub-signature-256": sign("sha1", lbBody) },
      { "x-hub-signature-256": "sha256=zz" },
      {},
    ];
    for (const headers of bad)
      expect(
        decideWebhook(request({ path: "/labelbox", body: lbBody, headers }), secrets, options),
      ).toMatchObject({
        kind: "reject",
        status: 401,
      });
  });

  test("unknown paths and switched-off systems answer the same 401 as a wrong secret; other methods 405 once authenticated; a verified non-JSON body 400", () => {
    const auth = { authorization: secrets.labelStudio };
    const wrong = decideWebhook(request({ headers: { authorization: "nope" } }), secrets, options);
    for (const decision of [
      decideWebhook(request({ path: "/cvat", headers: auth }), secrets, options),
      decideWebhook(request({ headers: auth }), { labelbox: "x" }, options),
      decideWebhook(request({ method: "GET", path: "/labelbox" }), secrets, options),
    ]) {
      expect(decision).toMatchObject({ status: 401, message: UNAUTHENTICATED });
      expect(decision.kind === "reject" && decision.message).toBe(wrong.kind === "reject" && wrong.message);
    }
    expect(decideWebhook(request({ method: "GET", headers: auth }), secrets, options)).toMatchObject({
      status: 405,
    });
    expect(decideWebhook(request({ headers: auth, body: Buffer.from("{oops") }), secrets, options)).toEqual({
      kind: "reject",
      status: 400,
      code: "bad-body",
      message: "the body is not JSON",
      reason: "the body is not JSON",
    });
  });

  test("an oversized Label Studio body is trimmed to the project's id and title; what still does not fit is 413", () => {
    const payload = JSON.parse(lsBody.toString("utf8"));
    payload.project = { id: 12, title: "Street", label_config: `<View>${"x".repeat(5000)}</View>` };
    const big = Buffer.from(JSON.stringify(payload));
    const small = { ...options, maxBodyBytes: 4096 };
    const decision = decideWebhook(
      request({ headers: { authorization: secrets.labelStudio }, body: big }),
      secrets,
      small,
    );
    expect(decision).toMatchObject({ kind: "enqueue", trimmed: true });
    if (decision.kind === "enqueue")
      expect(JSON.parse(decision.body).project).toEqual({ id: 12, title: "Street" });
    const huge = Buffer.from(
      JSON.stringify({ ...payload, annotation: { ...payload.annotation, pad: "y".repeat(5000) } }),
    );
    expect(
      decideWebhook(request({ headers: { authorization: secrets.labelStudio }, body: huge }), secrets, small),
    ).toEqual({
      kind: "reject",
      status: 413,
      code: "too-large",
      message: "the body is larger than 4096 bytes",
      reason: "the body is larger than 4096 bytes",
    });
  });

  test("Labelbox: LABEL_DELETED on a signed body that carries label content is refused (400): the body wins over the unsigned header", () => {
    for (const fixture of ["labelbox-v1-created.json", "labelbox-v2-row.json"]) {
      const body = readFileSync(`test/fixtures/upstream/${fixture}`);
      const headers = { "x-hub-signature-256": sign("sha256", body), "x-labelbox-event": "label_deleted" };
      expect(decideWebhook(request({ path: "/labelbox", body, headers }), secrets, options)).toMatchObject({
        kind: "reject",
        status: 400,
        code: "header-mismatch",
      });
    }
    // A delete body (no label content) keeps its header.
    const deleted = readFileSync("test/fixtures/upstream/labelbox-v1-deleted.json");
    const headers = { "x-hub-signature-256": sign("sha256", deleted), "x-labelbox-event": "LABEL_DELETED" };
    expect(
      decideWebhook(request({ path: "/labelbox", body: deleted, headers }), secrets, options),
    ).toMatchObject({
      kind: "enqueue",
      attributes: { "labelbox-event": "LABEL_DELETED" },
    });
  });

  test("an over-size Label Studio body nested too deep to trim is 413, not a crash", () => {
    const deep = `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`;
    const body = Buffer.from(
      lsBody.toString("utf8").replace(/}\s*$/, `,"pad":"${"x".repeat(5_000)}","deep":${deep}}`),
    );
    expect(
      decideWebhook(request({ headers: { authorization: secrets.labelStudio }, body }), secrets, {
        ...options,
        maxBodyBytes: 4096,
      }),
    ).toMatchObject({ kind: "reject", status: 413, code: "too-large" });
  });

  test("secrets: one string serves both systems; JSON names them; a missing one switches its system off", () => {
    const a = "a-secret-of-24-characters";
    const b = "another-secret-of-24-chars";
    expect(parseWebhookSecrets(` ${a} \n`)).toEqual({ labelStudio: a, labelbox: a });
    expect(parseWebhookSecrets(JSON.stringify({ labelbox: b }))).toEqual({ labelbox: b });
    expect(parseWebhookSecrets(JSON.stringify({ labelStudio: a, labelbox: b }))).toEqual({
      labelStudio: a,
      labelbox: b,
    });
    // Labelbox's secret never travels in a header: any text without control characters.
    expect(parseWebhookSecrets(JSON.stringify({ labelbox: `${b} é ü` }))).toEqual({ labelbox: `${b} é ü` });
  });

  test.each([
    ["", "shorter than 24"],
    ["x".repeat(23), "shorter than 24"],
    ['{"labelbox": "b"', "not valid JSON"],
    ["[1,2]", "shorter than 24"],
    ["{}", "names no system"],
    [JSON.stringify({ labelbox: "short" }), '"labelbox" is shorter than 24'],
    [JSON.stringify({ labelbox: null }), '"labelbox" is not text'],
    [JSON.stringify({ labelStudio: "a-secret-of-24-characters", other: "x" }), "1 field(s) other than"],
    [JSON.stringify({ labelStudio: "a-secret-of-24-charactersé" }), "printable ASCII"],
    [JSON.stringify({ labelbox: "a-secret-of-24-\tcharacters" }), "control characters"],
    ["a-secret-of-24-\ncharacters", "control characters"],
    ["null", "shorter than 24"],
  ])("secret text %j is refused (%s), naming the setting", (text, rule) => {
    expect(() => parseWebhookSecrets(text, "WEBHOOK_SECRETS")).toThrow(rule);
    expect(() => parseWebhookSecrets(text, "WEBHOOK_SECRETS")).toThrow(/^WEBHOOK_SECRETS/);
  });

  test("a refused secret's message quotes nothing of it, whatever the text (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.boolean(), (core, asJson) => {
        const marker = `Q${core}Z`;
        const text = asJson ? `{"labelStudio": "${marker}` : marker.slice(0, 23);
        try {
          parseWebhookSecrets(text, "the secret");
        } catch (error) {
          const message = (error as Error).message;
          return marker.length < 5 || !message.includes(marker.slice(0, 5));
        }
        return true;
      }),
    );
  });

  test("sharedSecretMatches and signatureMatches refuse what is missing", () => {
    expect(sharedSecretMatches(undefined, "s")).toBe(false);
    expect(signatureMatches({}, Buffer.from(""), "s")).toBe(false);
  });
});

describe("Scale callbacks at /scale", () => {
  const scaleKey = "live_scale_callback_key_0001";
  const body = readFileSync("test/fixtures/upstream/scale-imageannotation.json");
  const call = (headers: Record<string, string>, s: Parameters<typeof decideWebhook>[1]) =>
    decideWebhook({ method: "POST", path: "/scale", headers, body }, s, options);

  test("the scale-callback-auth header must equal the key (constant time); the group is the Scale task", () => {
    const withScale = { ...secrets, scale: scaleKey };
    expect(call({ "scale-callback-auth": scaleKey }, withScale)).toMatchObject({
      kind: "enqueue",
      system: "scale",
      attributes: { format: "scale" },
      groupId: "scale:6512a7c4e1b8f9001f3c2d41",
    });
    for (const headers of [
      {},
      { "scale-callback-auth": `${scaleKey}x` },
      { "scale-callback-auth": scaleKey.slice(1) },
    ] as Record<string, string>[])
      expect(call(headers, withScale)).toMatchObject({
        kind: "reject",
        status: 401,
        message: UNAUTHENTICATED,
      });
  });

  test("Scale is on only with a scale key in the JSON secret: a single shared string does not switch it on", () => {
    const shared = parseWebhookSecrets("a-secret-of-24-characters!");
    expect(shared.scale).toBeUndefined();
    expect(call({ "scale-callback-auth": "a-secret-of-24-characters!" }, shared)).toMatchObject({
      status: 401,
    });
    expect(parseWebhookSecrets(JSON.stringify({ scale: scaleKey }))).toEqual({ scale: scaleKey });
    expect(() => parseWebhookSecrets(JSON.stringify({ scale: "short-key" }))).toThrow(
      /copy Scale's whole callback auth key/,
    );
  });
});

describe("CVAT webhooks (X-Signature-256, the puller's pull queue)", () => {
  const cvatSecret = "cvat-webhook-secret-0123456789";
  const withCvat = { ...secrets, cvat: cvatSecret };
  const hook = readFileSync("test/fixtures/upstream/cvat-api/webhook-job-completed.json");
  const on = { ...options, pullerEnabled: true };
  const signed = (body: Buffer, secret = cvatSecret) => ({
    "x-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
  });
  const call = (body: Buffer, headers: Record<string, string>, opts: WebhookOptions = on) =>
    decideWebhook(request({ path: "/cvat", body, headers }), withCvat, opts);

  test("a signed update:job of a completed job asks the puller for that job; nothing goes on the bridge's queue", () => {
    expect(call(hook, signed(hook))).toEqual({
      kind: "enqueue",
      system: "cvat",
      body: JSON.stringify({ cvat: "pull-job", jobId: 41 }),
      attributes: { format: "cvat-pull" },
      groupId: "cvat:41",
      trimmed: false,
      queue: "pull",
    });
  });

  test("a ping or a job still in progress is acknowledged and queues nothing", () => {
    const ping = Buffer.from(JSON.stringify({ event: "ping", webhook_id: 3 }));
    expect(call(ping, signed(ping))).toMatchObject({ kind: "ignore", system: "cvat" });
    const open = Buffer.from(hook.toString().replace('"state": "completed"', '"state": "in progress"'));
    expect(call(open, signed(open))).toMatchObject({ kind: "ignore" });
  });

  test("a wrong, truncated, lengthened or missing signature, or no puller, is the same 401", () => {
    const good = signed(hook)["x-signature-256"];
    for (const headers of [
      {},
      signed(hook, "another-secret-of-enough-length"),
      { "x-signature-256": good.slice(0, -1) },
      { "x-signature-256": `${good}0` },
      { "x-hub-signature-256": good },
    ] as Record<string, string>[])
      expect(call(hook, headers)).toMatchObject({ kind: "reject", status: 401, message: UNAUTHENTICATED });
    expect(call(hook, signed(hook), options)).toMatchObject({ status: 401, message: UNAUTHENTICATED });
  });

  test("the JSON secret takes a cvat field of at least 24 characters", () => {
    expect(parseWebhookSecrets(JSON.stringify({ cvat: cvatSecret }))).toEqual({ cvat: cvatSecret });
    expect(() => parseWebhookSecrets(JSON.stringify({ cvat: "short" }))).toThrow(/shorter than 24/);
  });
});
