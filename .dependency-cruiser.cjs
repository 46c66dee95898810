/**
 * Which folder may import which (docs/development.md draws the same map; test/unit/layout.test.ts checks the two
 * agree). `npm test` runs this before jest: a cycle, or an import that reaches up a level, fails it.
 *
 * lambda/, bottom to top:
 *   shared   lambda/{failure,redact,loopback,secret-text,config-error,publish-metric,env-settings}.ts: vocabulary, no stage
 *   events   what a record may be, itself layered: the canonical event (events/*.ts, generated/) < contract/
 *            (Adapter, results, errors, mask files, the mapping) < kinds/ (geometry, masks, video frames, the
 *            tools' track rules) < one folder per tool < registry.ts and all-adapters.ts
 *   clarifai what is sent and what the answers mean
 *   config   lambda/{config,secret}.ts: the environment, read once
 *   delivery one batch, end to end
 *   pull, then webhook and audit (both read pull's pure parts)
 *   entries  lambda/{handler,ingress,puller}.ts
 * Around it: lib/ (the construct) may import lambda/; bin/cli/ may import lambda/, lib/ and the stand-in's
 * behaviour profiles; local/ may import all of those; bin/*.ts entry scripts anything but tests and the bench;
 * bench/ anything, of the tests only test/support/ (its fixtures).
 */
const SHARED = "^lambda/(failure|redact|loopback|secret-text|config-error|publish-metric|env-settings)\\.ts$";
const CANONICAL = "^lambda/events/((?!registry\\.ts$|all-adapters\\.ts$)[^/]+\\.ts$|generated/)";
const CONTRACT = "^lambda/events/contract/";
const KINDS = "^lambda/events/kinds/";
const EVENTS = "^lambda/events/";
const CLARIFAI = "^lambda/clarifai/";
const CONFIG = "^lambda/(config|secret)\\.ts$";
const DELIVERY = "^lambda/delivery/";
const PULL = "^lambda/pull/";
const below = (...levels) => `(${levels.join("|")})`;
const only = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: "error",
  from: { path: from },
  to: { path: "^(lambda|lib|bin|local|bench|test)/", pathNot: [allowed, "^node_modules"] },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no module imports itself through others",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    only("shared-is-the-bottom", SHARED, SHARED, "the shared vocabulary imports nothing of ours but itself"),
    only(
      "canonical-event",
      CANONICAL,
      below(CANONICAL, SHARED),
      "the canonical event and its bounds stand alone",
    ),
    only(
      "contract",
      CONTRACT,
      below(CONTRACT, CANONICAL, SHARED),
      "the contract knows no kind, tool or registry",
    ),
    only(
      "kinds",
      KINDS,
      below(KINDS, CONTRACT, CANONICAL, SHARED),
      "label kinds serve every tool and know none",
    ),
    {
      name: "tools-apart",
      comment:
        "a tool's folder imports the kinds and the contract below it, never another tool or the registry",
      severity: "error",
      from: { path: "^lambda/events/([^/]+)/", pathNot: "^lambda/events/(contract|kinds|generated)/" },
      to: {
        path: "^(lambda|lib|bin|local|bench|test)/",
        pathNot: ["^lambda/events/$1/", KINDS, CONTRACT, CANONICAL, SHARED, "^node_modules"],
      },
    },
    only(
      "registry",
      "^lambda/events/(registry|all-adapters)\\.ts$",
      below(EVENTS, SHARED),
      "the registry sits on top of the tools",
    ),
    only("clarifai", CLARIFAI, below(CLARIFAI, EVENTS, SHARED), "Clarifai's side knows events, not delivery"),
    only(
      "config",
      CONFIG,
      below(CONFIG, CLARIFAI, EVENTS, SHARED),
      "the configuration is read below delivery",
    ),
    only(
      "delivery",
      DELIVERY,
      below(DELIVERY, CONFIG, CLARIFAI, EVENTS, SHARED),
      "delivery knows no entry, webhook, puller or audit",
    ),
    only(
      "pull",
      PULL,
      below(PULL, DELIVERY, CONFIG, CLARIFAI, EVENTS, SHARED),
      "the puller's parts sit below the webhook and the audit",
    ),
    only(
      "webhook",
      "^lambda/webhook/",
      below("^lambda/webhook/", PULL, DELIVERY, CONFIG, CLARIFAI, EVENTS, SHARED),
      "the ingress's decisions",
    ),
    only(
      "audit",
      "^lambda/audit/",
      below("^lambda/audit/", PULL, DELIVERY, CONFIG, CLARIFAI, EVENTS, SHARED),
      "the audit reads what delivery writes",
    ),
    only(
      "lambda-stays-inside",
      "^lambda/",
      "^lambda/",
      "the function's code imports nothing from the construct, the CLI, the local run, the bench or the tests",
    ),
    only("lib", "^lib/", "^(lib|lambda)/", "the construct may bundle lambda/, never the tools around it"),
    only(
      "cli-commands",
      "^bin/cli/",
      "^(bin/cli|lambda|lib)/|^local/clarifai/profiles\\.ts$",
      "the CLI's commands: lambda/, lib/ and the stand-in's behaviour profiles",
    ),
    only(
      "local",
      "^local/",
      "^(local|lambda|lib|bin/cli)/",
      "the local run: the product, the construct and the CLI's commands",
    ),
    only(
      "bin-entries",
      "^bin/[^/]+$",
      "^(bin|local|lambda|lib)/",
      "entry scripts: anything but the bench and the tests",
    ),
    only(
      "bench",
      "^bench/",
      "^(bench|bin|local|lambda|lib|test/support)/",
      "the bench: of the tests, only their fixtures",
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|cdk\\.out)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mjs", ".js"] },
  },
};
