/**
 * The tests parse every tool's bodies directly (parseRecord), as the CLI does: every adapter loaded up front. The
 * handler's own lazy loading is tested from the deployed bundle (test/infra/split-bundle.test.ts).
 */
import "../../lambda/events/all-adapters.js";
