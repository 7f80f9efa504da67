import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { handle } from 'hono/aws-lambda';
import { createFsBlobStore } from '../infra/blob-store-fs.ts';
import { systemClock } from '../infra/clock.ts';
import { openDatabase } from '../infra/database.ts';
import { stdoutLog } from '../infra/operational-log.ts';
import { createDbQueue } from '../infra/queue-db.ts';
import { createCloudApp } from './app.ts';
import type { CloudDeps } from './deps.ts';

/**
 * The API as a Lambda function. For now it runs on the embedded adapters: CAIRN_DATA_DIR (or
 * CAIRN_DATABASE_URL with CAIRN_DATABASE_AUTH_TOKEN for a remote libSQL) — the S3/SQS adapters replace the
 * blob store and queue in a later step. Dependencies are built once per container, at cold start.
 */
export async function depsFromEnv(env: NodeJS.ProcessEnv): Promise<CloudDeps> {
  const dataDir = env.CAIRN_DATA_DIR ?? '/tmp/cairn';
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase(
    env.CAIRN_DATABASE_URL ?? `file:${join(dataDir, 'cairn.db')}`,
    env.CAIRN_DATABASE_AUTH_TOKEN ? { authToken: env.CAIRN_DATABASE_AUTH_TOKEN } : {},
  );
  return {
    db,
    blobs: createFsBlobStore(join(dataDir, 'blobs')),
    queue: createDbQueue(db, systemClock),
    clock: systemClock,
    log: stdoutLog,
  };
}

export const handler = handle(createCloudApp(await depsFromEnv(process.env)));
