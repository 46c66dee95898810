import { expect, test } from "@jest/globals";
import { STATUS_CODES, statusCodeOf } from "../../lambda/clarifai/status-codes.js";
import { loadClarifaiProtos } from "../../local/clarifai/proto-contract.js";

test("every status code the bridge knows matches Clarifai's own proto", async () => {
  const root = await loadClarifaiProtos();
  const official = root.lookupEnum("clarifai.api.status.StatusCode").values;
  for (const [name, code] of Object.entries(STATUS_CODES))
    expect([name, official[name]]).toEqual([name, code]);
});

test("codes are read as numbers, numeric strings or enum names", () => {
  expect(statusCodeOf(10010)).toBe(10010);
  expect(statusCodeOf("10010")).toBe(10010);
  expect(statusCodeOf("MIXED_STATUS")).toBe(10010);
  expect(statusCodeOf("NOPE")).toBeUndefined();
  expect(statusCodeOf(1.5)).toBeUndefined();
});
