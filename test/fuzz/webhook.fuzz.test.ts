import { createHmac } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { decideWebhook } from "../../lambda/webhook/webhook.js";

const runs = Number(process.env.FUZZ_RUNS ?? 500);
const secrets = { labelStudio: "ls-secret-fuzz", labelbox: "lb-secret-fuzz" };
const options = { labelStudioHeader: "authorization", maxBodyBytes: 4096 };
const hex = (body: Uint8Array, algorithm: "sha256" | "sha1") =>
  createHmac(algorithm, secrets.labelbox).update(body).digest("hex");

describe("webhook ingress under arbitrary requests", () => {
  test("Labelbox: nothing is queued unless the signature is the HMAC of exactly these bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
          fc.stringMatching(/^sha1=[0-9a-f]{40}$/),
        ),
        fc.constantFrom("x-hub-signature-256", "x-hub-signature", "x-other"),
        (body, signature, header) => {
          const decision = decideWebhook(
            { method: "POST", path: "/labelbox", headers: { [header]: signature }, body: Buffer.from(body) },
            secrets,
            options,
          );
          const valid =
            (header === "x-hub-signature-256" && signature === `sha256=${hex(body, "sha256")}`) ||
            (header === "x-hub-signature" && signature === `sha1=${hex(body, "sha1")}`);
          if (!valid) expect(decision).toMatchObject({ kind: "reject", status: 401 });
        },
      ),
      { numRuns: runs },
    );
  });

  test("Label Studio: nothing is queued unless the header carries the secret; the queued body is the sent one", () => {
    fc.assert(
      fc.property(fc.string(), fc.json(), (header, json) => {
        const body = Buffer.from(json);
        const decision = decideWebhook(
          { method: "POST", path: "/label-studio", headers: { authorization: header }, body },
          secrets,
          options,
        );
        const value = header.replace(/^(Bearer|Token|Basic)\s+/i, "").trim();
        if (value !== secrets.labelStudio) expect(decision).toMatchObject({ kind: "reject", status: 401 });
        // With the right secret: queued as sent (an object), or refused with a client error, never anything else.
        const good = decideWebhook(
          { method: "POST", path: "/label-studio", headers: { authorization: secrets.labelStudio }, body },
          secrets,
          options,
        );
        if (good.kind === "enqueue") expect(good.body).toBe(json);
        else expect(good.kind === "reject" && [400, 413].includes(good.status)).toBe(true);
      }),
      { numRuns: runs },
    );
  });
});
