import { handle } from 'hono/aws-lambda';
import { createCloudApp } from './app.ts';
import { depsFromEnv } from './deps-from-env.ts';

/**
 * The API as a Lambda function: the same hono app as `cairn cloud serve`, on the adapters the environment
 * names (deps-from-env.ts: S3 and SQS on AWS, a folder and a table otherwise). Dependencies are built once per
 * container, at cold start.
 */
export const handler = handle(createCloudApp(await depsFromEnv(process.env)));
