/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The AWS deployment of the same handlers the embedded cloud runs: the hono API behind a Lambda function URL,
 * an S3 bucket for model artifacts (agents download them by presigned URL), and an SQS queue with a
 * dead-letter queue between the API and the ingest Lambda. Both functions build their adapters from the
 * environment set here (functions/deps-from-env.ts); the database is a remote libSQL given by
 * CAIRN_DATABASE_URL / CAIRN_DATABASE_AUTH_TOKEN (secrets, not set in this file). The adapters are tested
 * against local S3/SQS servers. This file is type-checked in CI (`npm run typecheck:sst`, after
 * `npm run sst:install` writes .sst/platform offline), and test/deploy.sst.test.ts runs its `run()` under
 * Pulumi's mocks: the resource graph (bucket, queue + DLQ redrive, the subscription's partial batch responses,
 * runtimes, environment, function URL, link permissions) and the bundling of both handlers as the sst CLI
 * does it. It has not been deployed, and the bundles do not cold-start on their own yet (see that test).
 */
export default $config({
  app(input) {
    return {
      name: 'cairn',
      home: 'aws',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
    };
  },
  async run() {
    // SST's default runtime is newer than the Node the project supports; pin it.
    const runtime = 'nodejs20.x';
    const artifacts = new sst.aws.Bucket('Artifacts');
    const deadLetters = new sst.aws.Queue('ReportsDeadLetter');
    const reports = new sst.aws.Queue('Reports', {
      // Longer than the ingest function may run, so SQS never redelivers a record still being handled.
      visibilityTimeout: '2 minutes',
      dlq: { queue: deadLetters.arn, retry: 5 },
    });
    const environment = {
      CAIRN_ARTIFACTS_BUCKET: artifacts.name,
      CAIRN_REPORTS_QUEUE_URL: reports.url,
      CAIRN_REPORTS_DLQ_URL: deadLetters.url,
    };
    reports.subscribe(
      {
        handler: 'functions/ingest/lambda.handler',
        runtime,
        timeout: '1 minute',
        // Ingest only reads its event and writes the database: the subscription itself grants the receive.
        environment,
      },
      // The handler names the records that failed (batchItemFailures); only those are delivered again.
      { batch: { partialResponses: true } },
    );
    const api = new sst.aws.Function('Api', {
      handler: 'functions/lambda.handler',
      runtime,
      url: true,
      environment,
      // Linking grants the permissions: read/write the bucket (and presign GETs), send to the queue, and read
      // and redrive the dead letters.
      link: [artifacts, reports, deadLetters],
    });
    return { api: api.url };
  },
});
