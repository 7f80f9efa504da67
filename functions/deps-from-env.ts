import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { BlobStore } from '../infra/blob-store.ts';
import { createFsBlobStore } from '../infra/blob-store-fs.ts';
import { createS3BlobStore, createS3Client } from '../infra/blob-store-s3.ts';
import { systemClock } from '../infra/clock.ts';
import { stdoutLog } from '../infra/operational-log.ts';
import type { DeadLetteringQueue, Queue } from '../infra/queue.ts';
import { createDbQueue } from '../infra/queue-db.ts';
import { createSqsQueue } from '../infra/queue-sqs.ts';
import { type Database, openDatabase } from './db/database.ts';
import { type CloudDeps, REPORTS_TOPIC } from './deps.ts';
import { approvalMonthsFromEnv } from './rollouts/lifecycle.ts';

/**
 * The cloud's dependencies as a Lambda container (API or ingest) builds them, once, at cold start:
 *
 * - database: CAIRN_DATABASE_URL (+ CAIRN_DATABASE_AUTH_TOKEN) for a remote libSQL, else a file in
 *   CAIRN_DATA_DIR (default /tmp/cairn) — but not on Lambda (AWS_LAMBDA_FUNCTION_NAME set), where a file in
 *   /tmp would be a private database per container, lost when it stops: there a missing URL stops the start;
 *   its schema comes from the migrations in CAIRN_MIGRATIONS_DIR (relative to the working directory, the
 *   function package's root on Lambda) if set, else from the source tree;
 * - artifacts: the S3 bucket CAIRN_ARTIFACTS_BUCKET (under CAIRN_ARTIFACTS_PREFIX, if set), else a folder;
 * - report queue: the SQS queue CAIRN_REPORTS_QUEUE_URL (dead letters in CAIRN_REPORTS_DLQ_URL), else a table.
 *   On Lambda the bucket and the queue are required too.
 *
 * AWS region and credentials come from the SDK's usual sources (Lambda sets them). AWS_ENDPOINT_URL_S3 /
 * AWS_ENDPOINT_URL_SQS point the clients at other servers, CAIRN_S3_FORCE_PATH_STYLE=true makes S3 URLs
 * path-style (local servers without wildcard DNS).
 */
export async function depsFromEnv(env: NodeJS.ProcessEnv): Promise<CloudDeps> {
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    if (!env.CAIRN_DATABASE_URL) throw new Error(LAMBDA_WITHOUT_DATABASE);
    // A folder or a table queue in the container's /tmp would take models and reports and then lose them (the
    // bytes go with the container; nothing on Lambda drains a table queue): refuse instead.
    const missing = ['CAIRN_ARTIFACTS_BUCKET', 'CAIRN_REPORTS_QUEUE_URL'].filter((k) => !env[k]);
    if (missing.length > 0)
      throw new Error(
        `${missing.join(' and ')} not set: on Lambda models live in S3 and reports travel by SQS (sst.config.ts sets both)`,
      );
  }
  const dataDir = env.CAIRN_DATA_DIR ?? '/tmp/cairn';
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase(env.CAIRN_DATABASE_URL || `file:${join(dataDir, 'cairn.db')}`, {
    ...(env.CAIRN_DATABASE_AUTH_TOKEN ? { authToken: env.CAIRN_DATABASE_AUTH_TOKEN } : {}),
    ...(env.CAIRN_MIGRATIONS_DIR ? { migrationsFolder: resolve(env.CAIRN_MIGRATIONS_DIR) } : {}),
  });
  return {
    db,
    blobs: blobsFromEnv(env, dataDir),
    queue: queueFromEnv(env, db),
    clock: systemClock,
    log: stdoutLog,
    ...approvalMonthsFromEnv(env),
  };
}

export const LAMBDA_WITHOUT_DATABASE =
  'CAIRN_DATABASE_URL is not set: on Lambda the database must be the shared libSQL (sst secret set DatabaseUrl), ' +
  'not a file in the container’s /tmp';

function blobsFromEnv(env: NodeJS.ProcessEnv, dataDir: string): BlobStore {
  const bucket = env.CAIRN_ARTIFACTS_BUCKET;
  if (!bucket) return createFsBlobStore(join(dataDir, 'blobs'));
  const client = createS3Client({
    ...endpoint(env.AWS_ENDPOINT_URL_S3),
    forcePathStyle: env.CAIRN_S3_FORCE_PATH_STYLE === 'true',
  });
  return createS3BlobStore({
    client,
    bucket,
    ...(env.CAIRN_ARTIFACTS_PREFIX ? { prefix: env.CAIRN_ARTIFACTS_PREFIX } : {}),
  });
}

function queueFromEnv(env: NodeJS.ProcessEnv, db: Database): Queue {
  return sqsReportQueueFromEnv(env) ?? createDbQueue(db, systemClock);
}

/**
 * The SQS report queue CAIRN_REPORTS_QUEUE_URL (dead letters in CAIRN_REPORTS_DLQ_URL), or null when the
 * environment names none (the table queue is then the one). Also what `cairn cloud dead-letters` uses on AWS.
 */
export function sqsReportQueueFromEnv(env: NodeJS.ProcessEnv): DeadLetteringQueue | null {
  const url = env.CAIRN_REPORTS_QUEUE_URL;
  if (!url) {
    if (env.CAIRN_REPORTS_DLQ_URL)
      throw new Error('CAIRN_REPORTS_DLQ_URL is set without CAIRN_REPORTS_QUEUE_URL: set both, or neither');
    return null;
  }
  const dlq = env.CAIRN_REPORTS_DLQ_URL;
  return createSqsQueue({
    client: new SQSClient(endpoint(env.AWS_ENDPOINT_URL_SQS)),
    queueUrls: { [REPORTS_TOPIC]: url },
    ...(dlq ? { deadLetterUrls: { [REPORTS_TOPIC]: dlq } } : {}),
  });
}

/** The SDK reads these variables too, but only from process.env: reading them here keeps `env` the one input. */
const endpoint = (url: string | undefined) => (url ? { endpoint: url } : {});
