import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { LOCAL_AWS_CREDENTIALS, LOCAL_REGION, type LocalEnvironment } from "./environment.js";

/**
 * Fills the local S3 (fauxqs answers S3 beside SQS) from a folder laid out as `<bucket>/<key>`: examples/s3/ holds
 * the files the examples point at, such as Ground Truth's segmentation PNG, so `npm start` reads them as the
 * deployed handler reads them from the labeling job's output bucket. Returns the `s3://` URIs it wrote.
 */
/** An S3 client for the local S3 (path-style, the local credentials); the caller destroys it. */
export function localS3Client(env: LocalEnvironment): S3Client {
  return new S3Client({
    endpoint: env.sqsServer.address,
    forcePathStyle: true,
    region: LOCAL_REGION,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
}

export async function seedLocalS3(env: LocalEnvironment, dir: string): Promise<string[]> {
  const buckets = await readdir(dir, { withFileTypes: true }).catch(() => []);
  if (buckets.length === 0) return [];
  const s3 = localS3Client(env);
  const written: string[] = [];
  try {
    for (const bucket of buckets.filter((b) => b.isDirectory())) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
      const root = path.join(dir, bucket.name);
      for (const file of await readdir(root, { recursive: true, withFileTypes: true })) {
        if (!file.isFile()) continue;
        const full = path.join(file.parentPath, file.name);
        const key = path.relative(root, full).split(path.sep).join("/");
        await s3.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: await readFile(full) }));
        written.push(`s3://${bucket.name}/${key}`);
      }
    }
  } finally {
    s3.destroy();
  }
  return written;
}
