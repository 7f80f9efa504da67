/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The AWS deployment of the same handlers the embedded cloud runs: the hono API behind a Lambda function URL,
 * an S3 bucket for model artifacts, and an SQS queue (with a dead-letter queue) between the API and ingest.
 * The AWS adapters behind infra/'s interfaces (S3 blob store, SQS queue, remote libSQL) come with the AWS
 * issue; until then this file describes the resource graph and is not type-checked (it needs `sst install`).
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
      visibilityTimeout: '2 minutes',
      dlq: { queue: deadLetters.arn, retry: 5 },
    });
    reports.subscribe({ handler: 'functions/ingest/lambda.handler', runtime, link: [artifacts] });
    const api = new sst.aws.Function('Api', {
      handler: 'functions/lambda.handler',
      runtime,
      url: true,
      link: [artifacts, reports],
    });
    return { api: api.url };
  },
});
