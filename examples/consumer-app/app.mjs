// Someone else's CDK app: their own stack, their own secret and their own producer, with the bridge construct
// installed from the package (npm install clarifai-annotation-bridge, or the packed tarball).
import { App, CfnOutput, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { ClarifaiAnnotationBridge } from "clarifai-annotation-bridge";

const app = new App();
const stack = new Stack(app, "LabelingPlatform");

// The Clarifai key, in a secret this team already manages.
const clarifaiKey = secretsmanager.Secret.fromSecretNameV2(
  stack,
  "ClarifaiKey",
  "labeling-team/clarifai-pat",
);

const bridge = new ClarifaiAnnotationBridge(stack, "AnnotationBridge", {
  clarifaiSecret: clarifaiKey,
  clarifaiUserId: "labeling-team",
  clarifaiAppId: "street-scenes",
  alarmEmail: "labeling-oncall@example.com",
  mapping: {
    projects: { "label-studio:12": { taskId: "street-audit-2026-11" } },
    labelers: { "label-studio:7": "ana-clarifai" },
  },
});

// Their own producer: the role their export job runs as may send events to the bridge's queue, and nothing else.
const exporter = new iam.Role(stack, "LabelExportJobRole", {
  assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
});
bridge.grantSendEvents(exporter);

new CfnOutput(stack, "LabelingQueueUrl", { value: bridge.queue.queueUrl });
app.synth();
