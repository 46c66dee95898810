import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@jest/globals";
import { PROJECT_ROOT } from "../../lib/bundling.js";

/**
 * The construct as someone else installs it: `npm pack` (which builds the library), the tarball unpacked into a
 * copy of examples/consumer-app's node_modules exactly where `npm install` puts it, and that app synthesized
 * with `node app.mjs`, bundling the Lambda from the package's own files. Offline: the app's other dependencies
 * (aws-cdk-lib, constructs, esbuild, and the package's own dependencies, at the versions of this repository's
 * lock file) resolve from the repository's node_modules, because the copy sits inside the repository.
 */
test("examples/consumer-app synthesizes with the construct from the packed tarball", () => {
  const work = path.join(PROJECT_ROOT, ".consumer-check");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const npm = (args: string[], cwd: string) =>
    execFileSync("npm", args, {
      cwd,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
      stdio: "pipe",
    });

  npm(["pack", "--pack-destination", work, "--silent"], PROJECT_ROOT);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack wrote no tarball");

  const app = path.join(work, "app");
  cpSync(path.join(PROJECT_ROOT, "examples", "consumer-app"), app, { recursive: true });
  const installed = path.join(app, "node_modules", "clarifai-annotation-bridge");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["xzf", path.join(work, tarball), "-C", installed, "--strip-components=1"]);

  // What the package holds: the compiled library, its declarations, the Lambda sources it bundles, the license.
  for (const file of [
    "dist/lib/index.js",
    "dist/lib/index.d.ts",
    "lambda/handler.ts",
    "lambda/ingress.ts",
    "LICENSE",
    "CHANGELOG.md",
  ])
    expect([file, existsSync(path.join(installed, file))]).toEqual([file, true]);
  expect(existsSync(path.join(installed, "test"))).toBe(false);
  expect(existsSync(path.join(installed, "local", "clarifai", "stand-in.ts"))).toBe(false);
  const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  expect(manifest.exports["."].import).toBe("./dist/lib/index.js");
  expect(manifest.peerDependencies).toMatchObject({
    "aws-cdk-lib": expect.any(String),
    constructs: expect.any(String),
  });

  const out = path.join(work, "cdk.out");
  const synth = spawnSync(process.execPath, ["app.mjs"], {
    cwd: app,
    encoding: "utf8",
    env: { PATH: process.env.PATH, CDK_OUTDIR: out, HOME: process.env.HOME },
    timeout: 240_000,
  });
  expect([synth.status, synth.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
  const template = JSON.parse(readFileSync(path.join(out, "LabelingPlatform.template.json"), "utf8")) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    Outputs: Record<string, unknown>;
  };
  const types = Object.values(template.Resources).map((r) => r.Type);
  expect(types.filter((t) => t === "AWS::SQS::Queue")).toHaveLength(2);
  expect(types).toContain("AWS::Lambda::Function");
  expect(template.Outputs.LabelingQueueUrl).toBeDefined();
  // The consumer's own producer role may send to the queue.
  const policies = JSON.stringify(
    Object.values(template.Resources).filter((r) => r.Type === "AWS::IAM::Policy"),
  );
  expect(policies).toContain("sqs:SendMessage");
  // The handler was bundled from the package's lambda/ sources into an asset.
  const assets = readdirSync(out).filter((d) => d.startsWith("asset."));
  expect(assets.some((d) => existsSync(path.join(out, d, "index.mjs")))).toBe(true);
  rmSync(work, { recursive: true, force: true });
}, 300_000);
