/** ESM mode: @middy/core 7 ships ESM only, and the CommonJS mode cannot resolve it. */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json" }],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  setupFilesAfterEnv: ["<rootDir>/test/support/all-adapters.ts"],
  testTimeout: 30000,
  // Most integration suites wait on servers and scaled timeouts rather than compute (a third of a core each,
  // measured): three workers on the 2-core machine keep both cores busy without starving a suite's timers.
  maxWorkers: 3,
  // test.concurrent suites (the soak's profiles) run all their cases side by side.
  maxConcurrency: 10,
};
