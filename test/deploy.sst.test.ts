import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRpc, startCliRpc } from './deploy/cli-rpc.ts';
import { runConfigUnderMocks } from './deploy/run-under-mocks.ts';
import {
  ACCOUNT,
  type Built,
  platform,
  REGION,
  type Registered,
  root,
  SECRETS,
} from './deploy/sst-context.ts';
import { unzip } from './deploy/unzip.ts';

/**
 * sst.config.ts as `sst deploy` would run it, minus AWS: the CLI's steps are redone here (evaluate `app()`,
 * bundle the config with the platform's shim and globals, run its `run()` in the platform's auto/run.ts), the
 * Pulumi engine is replaced by the runtime's mocks, and the two things SST's components ask the CLI for are
 * answered here: the region's asset bucket, and the build of every Lambda handler (esbuild, with the options
 * of the CLI's Node runtime). The platform (SST's components, @pulumi/aws) is what `sst install` put in
 * .sst/platform (scripts/sst-install.sh).
 */

const exec = promisify(execFile);

let work: string;
let resources: Registered[] = [];
let rpc: CliRpc;

beforeAll(async () => {
  // CI runs scripts/sst-install.sh before the typecheck; a checkout without .sst/platform gets it here (a few
  // seconds: the provider packages come from the npm registry), so this file never skips.
  if (!existsSync(join(platform, 'config.d.ts'))) {
    await exec('bash', [join(root, 'scripts', 'sst-install.sh')], { cwd: root, timeout: 300_000 });
  }
  work = mkdtempSync(join(tmpdir(), 'cairn-sst-'));
  rpc = await startCliRpc(work);
  try {
    resources = await runConfigUnderMocks(
      `http://127.0.0.1:${(rpc.server.address() as AddressInfo).port}`,
      work,
    );
  } catch (err) {
    // afterAll does not run when this hook fails; a build may still be writing when the program has died.
    await Promise.allSettled(rpc.inFlight);
    rmSync(work, { recursive: true, force: true });
    throw err;
  } finally {
    rpc.server.close();
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const ofType = (type: string) => resources.filter((r) => r.type === type);
function one(type: string, name: string): Registered {
  const found = resources.filter((r) => r.type === type && r.name === name);
  expect(
    found.map((r) => r.name),
    `${type} ${name}`,
  ).toEqual([name]);
  return found[0] as Registered;
}
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const queueUrl = (name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;

/** The Lambda function (aws:lambda/function:Function) of the sst.aws.Function whose code a build made. */
function lambdaOf(build: Built): Registered {
  const found = ofType('aws:lambda/function:Function').filter((r) =>
    String(r.inputs.s3Key).startsWith(`assets/${build.functionID}-code-`),
  );
  expect(found, `the Lambda function of ${build.functionID}`).toHaveLength(1);
  return found[0] as Registered;
}
const buildOf = (handler: string) => {
  const found = rpc.builds.filter((b) => b.handler === handler);
  expect(found, `builds of ${handler}`).toHaveLength(1);
  return found[0] as Built;
};

describe('sst.config.ts run() under Pulumi mocks', () => {
  it('declares one bucket, the reports queue with its dead-letter queue, and two functions', () => {
    expect(ofType('sst:aws:Bucket').map((r) => r.name)).toEqual(['Artifacts']);
    expect(ofType('aws:s3/bucket:Bucket').map((r) => r.name)).toEqual(['ArtifactsBucket']);
    expect(
      ofType('sst:aws:Queue')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['Reports', 'ReportsDeadLetter']);
    expect(
      ofType('aws:sqs/queue:Queue')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['ReportsDeadLetterQueue', 'ReportsQueue']);
    expect(ofType('sst:aws:Function')).toHaveLength(2);
    expect(ofType('aws:lambda/function:Function')).toHaveLength(2);
  });

  it('sweeps abandoned direct uploads from the bucket, and gives the API room to seal and hash a model', () => {
    const lifecycles = ofType('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration');
    expect(lifecycles).toHaveLength(1);
    const rules = (lifecycles[0] as Registered).inputs.rules as {
      status: string;
      filter?: { prefix?: string };
      expiration?: { days?: number };
    }[];
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      status: 'Enabled',
      filter: { prefix: 'uploads/' },
      expiration: { days: 2 },
    });
    const api = lambdaOf(buildOf('functions/lambda.handler'));
    expect(Number(api.inputs.timeout)).toBeGreaterThanOrEqual(300);
    expect(Number(api.inputs.memorySize)).toBeGreaterThanOrEqual(2048);
  });

  it('redrives a report to the dead-letter queue after 5 receives', () => {
    const reports = one('aws:sqs/queue:Queue', 'ReportsQueue');
    expect(JSON.parse(String(reports.inputs.redrivePolicy))).toEqual({
      deadLetterTargetArn: queueArn('ReportsDeadLetterQueue'),
      maxReceiveCount: 5,
    });
    expect(one('aws:sqs/queue:Queue', 'ReportsDeadLetterQueue').inputs.redrivePolicy).toBeUndefined();
  });

  it('subscribes the ingest function to the reports queue with partial batch responses', () => {
    const ingest = lambdaOf(buildOf('functions/ingest/lambda.handler'));
    const mappings = ofType('aws:lambda/eventSourceMapping:EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0] as Registered;
    expect(mapping.inputs.eventSourceArn).toBe(queueArn('ReportsQueue'));
    expect(mapping.inputs.functionName).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:${ingest.name}`);
    expect(mapping.inputs.functionResponseTypes).toEqual(['ReportBatchItemFailures']);
    // AWS refuses an SQS event source whose visibility timeout is shorter than the function's timeout.
    const visibility = Number(one('aws:sqs/queue:Queue', 'ReportsQueue').inputs.visibilityTimeoutSeconds);
    expect(visibility).toBeGreaterThanOrEqual(Number(ingest.inputs.timeout));
  });

  it('runs both functions on nodejs22.x with the bucket, queue URLs and database secrets in their environment', () => {
    const bucket = one('aws:s3/bucket:Bucket', 'ArtifactsBucket').inputs.bucket;
    expect(bucket).toEqual(expect.any(String));
    // The database's URL and token are the stage's secrets (a deploy without DatabaseUrl stops).
    expect(
      ofType('sst:sst:Secret')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['DatabaseAuthToken', 'DatabaseUrl']);
    for (const handler of ['functions/lambda.handler', 'functions/ingest/lambda.handler']) {
      const build = buildOf(handler);
      expect(build.runtime, handler).toBe('nodejs22.x');
      const fn = lambdaOf(build);
      expect(fn.inputs.runtime, handler).toBe('nodejs22.x');
      expect(fn.inputs.environment, handler).toMatchObject({
        variables: {
          CAIRN_ARTIFACTS_BUCKET: bucket,
          CAIRN_REPORTS_QUEUE_URL: queueUrl('ReportsQueue'),
          CAIRN_REPORTS_DLQ_URL: queueUrl('ReportsDeadLetterQueue'),
          CAIRN_DATABASE_URL: SECRETS.DatabaseUrl,
          CAIRN_DATABASE_AUTH_TOKEN: SECRETS.DatabaseAuthToken,
          CAIRN_MIGRATIONS_DIR: 'functions/db/migrations',
        },
      });
      // Pulumi keeps them encrypted in its state: the environment is a secret as a whole.
      expect(fn.secrets, handler).toContain('environment');
    }
  });

  it('gives the API function a public function URL and the links its permissions', () => {
    const api = lambdaOf(buildOf('functions/lambda.handler'));
    const urls = ofType('aws:lambda/functionUrl:FunctionUrl');
    expect(urls).toHaveLength(1);
    expect(urls[0]?.inputs).toMatchObject({ functionName: api.inputs.name, authorizationType: 'NONE' });
    const roles = ofType('aws:iam/role:Role').filter((r) => api.inputs.role === mockArn(r.name));
    expect(roles).toHaveLength(1);
    const inline = (roles[0] as Registered).inputs.inlinePolicies as { policy: string }[];
    expect(inline).toHaveLength(1);
    const policy = JSON.parse((inline[0] as { policy: string }).policy);
    const granted = (policy.Statement as { Action: string[]; Resource: string[] }[]).flatMap((s) =>
      s.Resource.map((resource) => `${s.Action.join(',')} ${resource}`),
    );
    expect(granted).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^s3:\* arn:aws:s3:::/),
        `sqs:* ${queueArn('ReportsQueue')}`,
        `sqs:* ${queueArn('ReportsDeadLetterQueue')}`,
      ]),
    );
  });

  it('bundles every handler the way the sst CLI does, into the code each function deploys', () => {
    expect(rpc.builds.map((b) => b.handler).sort()).toEqual([
      'functions/ingest/lambda.handler',
      'functions/lambda.handler',
    ]);
    const migrations = readdirSync(join(root, 'functions', 'db', 'migrations'), { recursive: true })
      .map(String)
      .filter((f) => f.includes('.'));
    expect(migrations).toEqual(expect.arrayContaining(['0000_initial.sql', join('meta', '_journal.json')]));
    for (const build of rpc.builds) {
      expect(build.errors, build.handler).toEqual([]);
      expect(existsSync(build.file), build.file).toBe(true);
      const fn = lambdaOf(build);
      expect(fn.inputs.handler).toBe(build.lambdaHandler);
      // libSQL is installed, not bundled: its native binding is loaded by a require esbuild cannot follow.
      expect(build.install, build.handler).toEqual(['@libsql/client']);
      // The zip SST uploads (code.zip of the function): the bundle at the handler's path, the installed
      // packages with the binding for Lambda's platform, and the migrations (copyFiles).
      const files = [...unzip(codeZip(build)).keys()];
      expect(files, build.handler).toEqual(
        expect.arrayContaining([
          relative(build.out, build.file),
          'package.json',
          'node_modules/@libsql/client/package.json',
          expect.stringMatching(/^node_modules\/@libsql\/linux-x64-gnu\/.*\.node$/),
          ...migrations.map((f) => `functions/db/migrations/${f.split(sep).join('/')}`),
        ]),
      );
      // Nothing but the code, its packages, the migrations and SST's own files (the encrypted links).
      expect(
        files.filter((f) => !/^(functions\/|node_modules\/|package\.json$|resource\.enc$)/.test(f)),
        build.handler,
      ).toEqual([]);
    }
  });

  // As Lambda runs a function: code.zip unpacked alone (no node_modules above it), the handler imported from
  // there with that folder as the working directory and the function's environment, its database a `file:`
  // in a temporary folder instead of the secret's libsql:// URL. Each of these was once missing and stopped the
  // start: the package version (read from ../package.json beside the bundle), libSQL's native binding (not
  // bundled: nodejs.install) and the drizzle migrations (copyFiles + CAIRN_MIGRATIONS_DIR).
  it('cold-starts each function from its code.zip alone, as Lambda loads it, and serves', async () => {
    const served: Record<string, unknown> = {};
    const journal = JSON.parse(
      readFileSync(join(root, 'functions', 'db', 'migrations', 'meta', '_journal.json'), 'utf8'),
    ) as { entries: unknown[] };
    for (const build of rpc.builds) {
      const fn = lambdaOf(build);
      const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      const task = mkdtempSync(join(work, 'var-task-'));
      for (const [name, content] of unzip(codeZip(build))) {
        mkdirSync(dirname(join(task, name)), { recursive: true });
        writeFileSync(join(task, name), content);
      }
      const dot = build.lambdaHandler.lastIndexOf('.');
      const file = join(task, `${build.lambdaHandler.slice(0, dot)}.mjs`);
      const exported = build.lambdaHandler.slice(dot + 1);
      const event = build.handler === 'functions/lambda.handler' ? healthEvent() : { Records: [] };
      const probe = [
        `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`,
        `const answer = await m[${JSON.stringify(exported)}](${JSON.stringify(event)}, {});`,
        // Last, after the function's own log lines.
        "process.stdout.write('\\n' + JSON.stringify(answer));",
      ].join('\n');
      const data = mkdtempSync(join(work, 'tmp-'));
      const database = join(data, 'cairn.db');
      const answer = await exec(process.execPath, ['--input-type=module', '-e', probe], {
        cwd: task,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          ...variables,
          CAIRN_DATABASE_URL: `file:${database}`,
          CAIRN_DATABASE_AUTH_TOKEN: '',
          AWS_LAMBDA_FUNCTION_NAME: String(fn.inputs.name ?? fn.name),
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'AKIDCAIRNTEST',
          AWS_SECRET_ACCESS_KEY: 'cairn-test',
          AWS_EC2_METADATA_DISABLED: 'true',
          LAMBDA_TASK_ROOT: task,
          CAIRN_DATA_DIR: data,
        },
      }).then(
        ({ stdout }) => JSON.parse(stdout.slice(stdout.lastIndexOf('\n') + 1)) as unknown,
        (err: { stderr?: string }) =>
          String(err.stderr)
            .split('\n')
            .find((l) => /^\w*Error\b/.test(l)) ?? String(err),
      );
      served[build.handler] = answer;
      if (typeof answer !== 'object') continue;
      // Its schema is the source's: every migration applied.
      const db = createClient({ url: `file:${database}` });
      try {
        const applied = await db.execute('SELECT count(*) AS n FROM __drizzle_migrations');
        expect(Number(applied.rows[0]?.n), build.handler).toBe(journal.entries.length);
      } finally {
        db.close();
      }
    }
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(served).toEqual({
      'functions/lambda.handler': expect.objectContaining({ statusCode: 200, body: expect.any(String) }),
      'functions/ingest/lambda.handler': { batchItemFailures: [] },
    });
    const health = served['functions/lambda.handler'] as { body: string };
    expect(JSON.parse(health.body)).toEqual({ ok: true, version });
  });
});

const codeZip = (build: Built) => readFileSync(join(work, 'artifacts', build.functionID, 'code.zip'));

/** GET /v1/health as the function URL delivers it (API Gateway payload v2). */
function healthEvent() {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/v1/health',
    rawQueryString: '',
    headers: { host: 'api.lambda-url.us-east-1.on.aws' },
    isBase64Encoded: false,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'api',
      domainName: 'api.lambda-url.us-east-1.on.aws',
      domainPrefix: 'api',
      http: {
        method: 'GET',
        path: '/v1/health',
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'vitest',
      },
      requestId: 'cold-start',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_795_600_000_000,
    },
  };
}

const mockArn = (name: string) => `arn:aws:mock:${REGION}:${ACCOUNT}:${name}`;
