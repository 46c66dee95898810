/**
 * clarifai-annotation-bridge as a CDK construct library: an SQS queue with a dead-letter queue and a Lambda that
 * turns labeling events into task-linked Clarifai annotations, with alarms, a dashboard and an optional webhook
 * ingress. See docs/deploy.md ("Use the construct in your own CDK app") and docs/API.md.
 *
 * @packageDocumentation
 */
export type {
  MappingConfig,
  ProjectMapping,
  StatusPolicy,
} from "../lambda/events/contract/mapping-config.js";
export { BridgeStack, type BridgeStackProps } from "./bridge-stack.js";
export {
  CLARIFAI_REQUESTS_PER_SECOND,
  ClarifaiAnnotationBridge,
  type ClarifaiAnnotationBridgeProps,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  type WebhookProps,
} from "./clarifai-annotation-bridge.js";
export { BridgePuller, type PullerAuditProps, type PullerProps } from "./puller.js";
export { WebhookIngress } from "./webhook-ingress.js";
