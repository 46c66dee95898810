import { cvatAdapter } from "./cvat/index.js";
import { groundTruthAdapter } from "./ground-truth/index.js";
import { labelStudioAdapter } from "./label-studio/index.js";
import { labelboxAdapter } from "./labelbox/index.js";
import "./kinds/mask-png.js"; // the PNG decoder for masks kept in files (the handler loads it only when a record needs it)
import { useWords } from "./contract/refusal-words.js";
import { SCHEMA_WORDS } from "./contract/schema-words.js";
import { registerAdapter } from "./registry.js";
import { scaleAdapter } from "./scale/index.js";

/**
 * Every adapter (and the words of a refusal), loaded now: for callers that parse records synchronously outside the
 * handler (the CLI's send and audit, the puller's audit, the tests), which read any format at any time. The
 * handler does not import this: it loads each adapter on the first record of its format (registry.ts), and zod's
 * words on a first refusal.
 */
registerAdapter("label-studio", labelStudioAdapter);
registerAdapter("labelbox", labelboxAdapter);
registerAdapter("sagemaker-ground-truth", groundTruthAdapter);
registerAdapter("scale", scaleAdapter);
registerAdapter("cvat", cvatAdapter);
// And the words of a refusal (contract/refusal-words.ts), which the handler loads only for one.
useWords(SCHEMA_WORDS);
