/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The AWS deployment of the same handlers the embedded cloud runs: the hono API behind a Lambda function URL,
 * an S3 bucket for model artifacts (agents download them by presigned URL), and an SQS queue with a
 * dead-letter queue between the API and the ingest Lambda. Both functions build their adapters from the
 * environment set here (functions/deps-from-env.ts); the database is a remote libSQL whose URL and token are
 * the stage's SST secrets (`sst secret set DatabaseUrl libsql://…`, `sst secret set DatabaseAuthToken …`): a
 * deploy without DatabaseUrl stops, and a function started without CAIRN_DATABASE_URL refuses to run rather
 * than keep a database in its container's /tmp. The adapters are tested against local S3/SQS servers. This file
 * is type-checked in CI (`npm run typecheck:sst`, after `npm run sst:install` writes .sst/platform offline),
 * and test/deploy.sst.test.ts runs its `run()` under Pulumi's mocks: the resource graph (bucket, queue + DLQ
 * redrive, the subscription's partial batch responses, runtimes, environment, function URL, link
 * permissions), the bundling of both handlers as the sst CLI does it, and a cold start of each function
 * package (code.zip) on its own. It has not been deployed.
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
    // Pinned: SST's default (nodejs24.x) is newer than any Node the project is tested on, and Node 20 (what
    // the dev machines run) reached end of life on 2026-04-30, when AWS deprecated nodejs20.x. The whole test
    // suite passes on Node 22 (22.23.3, 2026-11-27); nodejs22.x is supported until 2027-04-30.
    const runtime = 'nodejs22.x';
    // drizzle-kit's migrations (functions/db/drizzle.config.ts), at the same path in each function's package.
    const migrations = 'functions/db/migrations';
    const artifacts = new sst.aws.Bucket('Artifacts', {
      // Direct model uploads stage under uploads/ (functions/api/routes/models.ts) and are deleted when they
      // become a model; an abandoned one (its URL lives 15 minutes, the upload an hour) is swept here.
      lifecycle: [{ id: 'expire-staged-uploads', prefix: 'uploads/', expiresIn: '2 days' }],
    });
    const deadLetters = new sst.aws.Queue('ReportsDeadLetter');
    const reports = new sst.aws.Queue('Reports', {
      // Longer than the ingest function may run, so SQS never redelivers a record still being handled.
      visibilityTimeout: '2 minutes',
      dlq: { queue: deadLetters.arn, retry: 5 },
    });
    const databaseUrl = new sst.Secret('DatabaseUrl');
    // Empty (the placeholder) for a libSQL server that takes no token.
    const databaseAuthToken = new sst.Secret('DatabaseAuthToken', '');
    const environment = {
      CAIRN_ARTIFACTS_BUCKET: artifacts.name,
      CAIRN_REPORTS_QUEUE_URL: reports.url,
      CAIRN_REPORTS_DLQ_URL: deadLetters.url,
      CAIRN_DATABASE_URL: databaseUrl.value,
      CAIRN_DATABASE_AUTH_TOKEN: databaseAuthToken.value,
      // copyFiles below puts them there; a bundle has no source tree to find them in (functions/db/database.ts).
      CAIRN_MIGRATIONS_DIR: migrations,
    };
    // What both functions need beyond their bundle.
    const packaging = {
      // @libsql/client loads its native binding (@libsql/linux-x64-gnu) by a dynamic require, which esbuild
      // cannot follow: SST installs the package, for Lambda's platform, into the function's node_modules.
      nodejs: { install: ['@libsql/client'] },
      // The migrations, at the same path in the package, whose root is Lambda's working directory (/var/task).
      copyFiles: [{ from: migrations }],
    };
    reports.subscribe(
      {
        handler: 'functions/ingest/lambda.handler',
        runtime,
        timeout: '1 minute',
        ...packaging,
        // Ingest only reads its event and writes the database: the subscription itself grants the receive.
        environment,
      },
      {
        // The handler names the records that failed (batchItemFailures); only those are delivered again.
        batch: { partialResponses: true },
        transform: {
          // SST builds a subscriber from its arguments inside an apply, which drops the secrecy of the
          // database URL and token (Pulumi's state would hold them in plain text): hand the function the
          // environment as it is here, secrets still marked.
          function: (args) => {
            args.environment = environment;
          },
        },
      },
    );
    const api = new sst.aws.Function('Api', {
      handler: 'functions/lambda.handler',
      runtime,
      url: true,
      // Completing a direct upload copies, streams and hashes up to 512 MiB in the bucket: more than the
      // default 20 s and 1 GB leave room for.
      timeout: '5 minutes',
      memory: '2048 MB',
      ...packaging,
      environment,
      // Linking grants the permissions: read/write the bucket (and presign GETs), send to the queue, and read
      // and redrive the dead letters.
      link: [artifacts, reports, deadLetters],
    });
    return { api: api.url };
  },
});
