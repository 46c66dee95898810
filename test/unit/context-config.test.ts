import { expect, test } from "@jest/globals";
import { contextConfig } from "../../lib/context-config.js";

const from = (values: Record<string, unknown>) => contextConfig((key) => values[key]);

test("cdk.json's defaults are enough: the secret name, and no user/app (app-scoped key)", () => {
  expect(
    from({
      clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
      clarifaiUserId: "",
      clarifaiAppId: "",
    }),
  ).toEqual({
    stackName: "ClarifaiAnnotationBridge",
    clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
  });
});

test("a missing secret fails naming the key and how to set it", () => {
  expect(() => from({})).toThrow(/context clarifaiSecret is required.*-c clarifaiSecret=/);
});

test("a user without an app (or the reverse) names the missing key", () => {
  expect(() => from({ clarifaiSecret: "s", clarifaiUserId: "acme" })).toThrow(
    /context clarifaiAppId is required.*-c clarifaiAppId=/,
  );
  expect(() => from({ clarifaiSecret: "s", clarifaiAppId: "app" })).toThrow(
    /context clarifaiUserId is required/,
  );
});

test("numbers from -c arrive as strings and are checked", () => {
  expect(from({ clarifaiSecret: "s", batchSize: "64", maxConcurrency: 3, fifo: "true" })).toMatchObject({
    batchSize: 64,
    maxConcurrency: 3,
    fifo: true,
  });
  expect(() => from({ clarifaiSecret: "s", batchSize: "many" })).toThrow(
    /context batchSize must be a positive integer.*-c batchSize=/,
  );
});
