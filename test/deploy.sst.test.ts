import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * sst.config.ts as `sst deploy` would run it, minus AWS: the CLI's steps are redone here (evaluate `app()`,
 * bundle the config with the platform's shim and globals, run its `run()` in the platform's auto/run.ts), the
 * Pulumi engine is replaced by the runtime's mocks, and the two things SST's components ask the CLI for are
 * answered here: the region's asset bucket, and the build of every Lambda handler (esbuild, with the options
 * of the CLI's Node runtime). The platform (SST's components, @pulumi/aws) is what `sst install` put in
 * .sst/platform (scripts/sst-install.sh).
 */

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const platform = join(root, '.sst', 'platform');
const STAGE = 'ci';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** One resource the program registered, as the Pulumi mock monitor saw it. */
interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
/** One handler the components asked the CLI to build (the `Runtime.Build` RPC), and what the build gave. */
interface Built {
  functionID: string;
  handler: string;
  runtime: string;
  out: string;
  /** The bundle, and the handler Lambda is given (path in the artifact + export). */
  file: string;
  lambdaHandler: string;
  errors: string[];
}

let work: string;
let resources: Registered[] = [];
const builds: Built[] = [];
const inFlight = new Set<Promise<unknown>>();

beforeAll(async () => {
  // CI runs scripts/sst-install.sh before the typecheck; a checkout without .sst/platform gets it here (a few
  // seconds: the provider packages come from the npm registry), so this file never skips.
  if (!existsSync(join(platform, 'config.d.ts'))) {
    await exec('bash', [join(root, 'scripts', 'sst-install.sh')], { cwd: root, timeout: 300_000 });
  }
  work = mkdtempSync(join(tmpdir(), 'cairn-sst-'));
  const server = await startCliRpc();
  try {
    resources = await runConfigUnderMocks(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } catch (err) {
    // afterAll does not run when this hook fails; a build may still be writing when the program has died.
    await Promise.allSettled(inFlight);
    rmSync(work, { recursive: true, force: true });
    throw err;
  } finally {
    server.close();
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
  const found = builds.filter((b) => b.handler === handler);
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

  it('runs both functions on nodejs20.x with the bucket and queue URLs in their environment', () => {
    const bucket = one('aws:s3/bucket:Bucket', 'ArtifactsBucket').inputs.bucket;
    expect(bucket).toEqual(expect.any(String));
    for (const handler of ['functions/lambda.handler', 'functions/ingest/lambda.handler']) {
      const build = buildOf(handler);
      expect(build.runtime, handler).toBe('nodejs20.x');
      const fn = lambdaOf(build);
      expect(fn.inputs.runtime, handler).toBe('nodejs20.x');
      expect(fn.inputs.environment, handler).toMatchObject({
        variables: {
          CAIRN_ARTIFACTS_BUCKET: bucket,
          CAIRN_REPORTS_QUEUE_URL: queueUrl('ReportsQueue'),
          CAIRN_REPORTS_DLQ_URL: queueUrl('ReportsDeadLetterQueue'),
        },
      });
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
    expect(builds.map((b) => b.handler).sort()).toEqual([
      'functions/ingest/lambda.handler',
      'functions/lambda.handler',
    ]);
    for (const build of builds) {
      expect(build.errors, build.handler).toEqual([]);
      expect(existsSync(build.file), build.file).toBe(true);
      const fn = lambdaOf(build);
      expect(fn.inputs.handler).toBe(build.lambdaHandler);
      // The zip SST uploads (code.zip of the function) names the bundle at the handler's path.
      const zip = readFileSync(join(work, 'artifacts', build.functionID, 'code.zip'));
      expect(zip.includes(Buffer.from(relative(build.out, build.file))), build.handler).toBe(true);
    }
  });

  // KNOWN TO FAIL (so `it.fails`): the bundles SST would ship do not start on their own. Source-relative paths
  // break once bundled (functions/version.ts requires '../package.json', infra/database.ts reads the
  // migrations from '../functions/db/migrations', both relative to the bundle's own path), and the native
  // libSQL binding (@libsql/linux-x64-gnu, loaded by a dynamic require) is not in the bundle. With those three
  // provided the API bundle starts and answers /v1/health. Once they are fixed this reports "passed
  // unexpectedly": make it an `it`.
  it.fails('cold-starts each bundle alone, as Lambda loads it, with the environment it is given', async () => {
    const started: Record<string, string> = {};
    for (const build of builds) {
      const variables = (lambdaOf(build).inputs.environment as { variables: Record<string, string> })
        .variables;
      const dot = build.lambdaHandler.lastIndexOf('.');
      const file = join(build.out, `${build.lambdaHandler.slice(0, dot)}.mjs`);
      const exported = build.lambdaHandler.slice(dot + 1);
      const probe = `const m = await import(${JSON.stringify(file)}); console.log(typeof m[${JSON.stringify(exported)}]);`;
      started[build.handler] = await exec(process.execPath, ['--input-type=module', '-e', probe], {
        // The artifact lies under the temporary folder: no node_modules above it to fall back on.
        cwd: build.out,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          ...variables,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'AKIDCAIRNTEST',
          AWS_SECRET_ACCESS_KEY: 'cairn-test',
          AWS_EC2_METADATA_DISABLED: 'true',
          LAMBDA_TASK_ROOT: build.out,
          CAIRN_DATA_DIR: mkdtempSync(join(work, 'tmp-')),
        },
      }).then(
        ({ stdout }) => stdout.trim(),
        (err: { stderr?: string }) =>
          String(err.stderr)
            .split('\n')
            .find((l) => /Error/.test(l)) ?? String(err),
      );
    }
    expect(started).toEqual({
      'functions/lambda.handler': 'function',
      'functions/ingest/lambda.handler': 'function',
    });
  });
});

/**
 * The part of the `sst` CLI that SST's components call back into during `run()` (HTTP JSON-RPC at
 * SST_SERVER): the region's bootstrap (asset bucket) and Runtime.Build.
 */
async function startCliRpc(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      const reply = (payload: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      try {
        const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
        if (method === 'Provider.Aws.Bootstrap') {
          reply({ result: { asset: 'sst-asset-mock', state: 'sst-state-mock' } });
        } else if (method === 'Runtime.Build') {
          const build = buildHandler(params[0]);
          inFlight.add(build);
          reply({ result: await build.finally(() => inFlight.delete(build)) });
        } else {
          reply({ error: `rpc: can't find method ${method}` });
        }
      } catch (err) {
        reply({ error: String(err) });
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return server;
}

const NODE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/**
 * Runtime.Build for a Node runtime, as the CLI does it (sst pkg/runtime/node/build.go): the handler's file
 * bundled by esbuild (platform node, ESM, esnext, main fields module/main, keepNames, the createRequire
 * banner; sharp, pg-native and `nodejs.install` external) into <artifacts>/<function>-src/<dir>/<file>.mjs,
 * the handler becoming <dir>/<file>.<export>.
 */
async function buildHandler(input: Record<string, unknown>) {
  const handler = String(input.handler);
  const functionID = String(input.functionID);
  const properties = (input.properties ?? {}) as { install?: string[]; banner?: string; format?: string };
  if (properties.install?.length) throw new Error('nodejs.install is not emulated here: extend buildHandler');
  if (properties.format === 'cjs') throw new Error('nodejs.format cjs is not emulated here');
  const base = handler.slice(0, handler.lastIndexOf('.'));
  const file = NODE_EXTENSIONS.map((ext) => join(root, base + ext)).find((f) => existsSync(f));
  if (!file) throw new Error(`Handler not found: ${handler}`);
  const rel = relative(root, file);
  const path = join(
    dirname(rel),
    rel
      .slice(dirname(rel).length + 1)
      .replace(/\.[^.]+$/, '')
      .replaceAll('.', '-'),
  );
  const out = join(work, 'artifacts', `${functionID}-src`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await esbuild
    .build({
      entryPoints: [file],
      platform: 'node',
      format: 'esm',
      target: 'esnext',
      mainFields: ['module', 'main'],
      bundle: true,
      keepNames: true,
      external: ['sharp', 'pg-native'],
      outfile: join(out, `${path}.mjs`),
      logLevel: 'silent',
      banner: {
        js: [
          `import { createRequire as topLevelCreateRequire } from 'module';`,
          `const require = topLevelCreateRequire(import.meta.url);`,
          `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
          `const __filename = topLevelFileUrlToPath(import.meta.url)`,
          `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
          properties.banner ?? '',
        ].join('\n'),
      },
    })
    .catch((err: esbuild.BuildFailure) => ({ errors: err.errors }));
  const errors = result.errors.map((e) => `${e.text} ${e.location?.file ?? ''}:${e.location?.line ?? ''}`);
  const lambdaHandler = path + handler.slice(handler.lastIndexOf('.'));
  builds.push({
    functionID,
    handler,
    runtime: String(input.runtime),
    out,
    file: join(out, `${path}.mjs`),
    lambdaHandler,
    errors,
  });
  return { handler: lambdaHandler, out, errors, sourcemaps: [] };
}

const mockArn = (name: string) => `arn:aws:mock:${REGION}:${ACCOUNT}:${name}`;

/**
 * The program `sst deploy` hands to Pulumi (sst pkg/project/run.go), with the runtime's mocks in place of the
 * engine: sst.config.ts bundled with the platform's shim injected, `aws` and `sst` imported into it, `$app` /
 * `$cli` / `$dev` defined, and its `run()` wrapped in the platform's auto/run.ts. Every registered resource
 * is written to a file; mocked outputs are recognisable (queue URLs and ARNs carry the resource's name).
 */
async function runConfigUnderMocks(server: string): Promise<Registered[]> {
  const outfile = join(platform, `sst.config.test-${process.pid}.mjs`);
  const resultFile = join(work, 'resources.json');
  const program = `
import * as pulumi from '@pulumi/pulumi';
import { writeFileSync } from 'node:fs';

const registered = [];
const region = ${JSON.stringify(REGION)};
const account = ${JSON.stringify(ACCOUNT)};
function outputsOf(type, name, inputs) {
  switch (type) {
    case 'aws:sqs/queue:Queue':
      return {
        arn: 'arn:aws:sqs:' + region + ':' + account + ':' + name,
        url: 'https://sqs.' + region + '.amazonaws.com/' + account + '/' + name,
      };
    case 'aws:s3/bucket:Bucket':
    case 'aws:s3/bucketV2:BucketV2':
      return { bucket: inputs.bucket, arn: 'arn:aws:s3:::' + inputs.bucket };
    case 'aws:lambda/function:Function':
      return { arn: 'arn:aws:lambda:' + region + ':' + account + ':function:' + name, name: inputs.name ?? name };
    case 'aws:lambda/functionUrl:FunctionUrl':
      return { functionUrl: 'https://' + name.toLowerCase() + '.lambda-url.' + region + '.on.aws/' };
    default:
      return { arn: 'arn:aws:mock:' + region + ':' + account + ':' + name, name: inputs.name ?? name };
  }
}
await pulumi.runtime.setMocks(
  {
    newResource({ type, name, inputs }) {
      registered.push({ type, name, inputs });
      return { id: name + '-id', state: { ...inputs, ...outputsOf(type, name, inputs) } };
    },
    call({ token, inputs }) {
      switch (token) {
        case 'aws:index/getRegion:getRegion':
          return { name: region, region, id: region };
        case 'aws:index/getPartition:getPartition':
          return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
        case 'aws:index/getCallerIdentity:getCallerIdentity':
          return { accountId: account, arn: 'arn:aws:iam::' + account + ':user/ci', userId: 'ci', id: account };
        case 'aws:iam/getPolicyDocument:getPolicyDocument':
          // Echoes its inputs as the provider does (SST reads \`statements\` back), with the policy JSON.
          return {
            ...inputs,
            json: JSON.stringify({
              Version: '2012-10-17',
              Statement: (inputs.statements ?? []).map((s) => ({
                Effect: s.effect ?? 'Allow',
                Action: s.actions,
                Resource: s.resources,
                ...(s.principals ? { Principal: s.principals } : {}),
              })),
            }),
          };
        default:
          return inputs;
      }
    },
  },
  $app.name,
  $app.stage,
  false,
);
const config = (await import(${JSON.stringify(join(root, 'sst.config.ts'))})).default;
const { run } = await import(${JSON.stringify(join(platform, 'src', 'auto', 'run.ts'))});
await pulumi.runtime.runInPulumiStack(() => run(config.run));
// Components register resources in applies that wait on the builds: the list is complete once nothing is
// left to run (as the real language host waits for the event loop to drain).
process.once('beforeExit', () => writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify(registered)));
`;
  const app = await evaluateApp();
  const cli = {
    command: 'deploy',
    dev: false,
    paths: { home: work, root, work, platform },
    state: { version: {} },
  };
  const globals = `import * as aws from '@pulumi/aws';\nimport * as sst from ${JSON.stringify(join(platform, 'src', 'components'))};\n`;
  await esbuild.build({
    stdin: { contents: program, resolveDir: root, sourcefile: 'eval.ts', loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    nodePaths: [join(platform, 'node_modules')],
    inject: [join(platform, 'src', 'shim', 'run.js')],
    define: { $app: JSON.stringify(app), $cli: JSON.stringify(cli), $dev: 'false' },
    external: [
      '@pulumi/*',
      'undici',
      '@pulumiverse/*',
      '@sst-provider/*',
      '@aws-sdk/*',
      'esbuild',
      'archiver',
      'glob',
      'vite',
    ],
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire(import.meta.url);`,
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        `const __filename = topLevelFileUrlToPath(import.meta.url)`,
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
      ].join('\n'),
    },
    plugins: [
      {
        // The CLI's InjectGlobals: every file outside .sst starts with the provider and `sst` imports.
        name: 'inject-globals',
        setup(build) {
          build.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, (args) => {
            if (args.path.includes('.sst')) return undefined;
            return { contents: globals + readFileSync(args.path, 'utf8'), loader: 'default' };
          });
        },
      },
    ],
    logLevel: 'silent',
  });
  try {
    await exec(process.execPath, ['--no-warnings', outfile], {
      cwd: root,
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, SST_SERVER: server, AWS_EC2_METADATA_DISABLED: 'true' },
    });
  } finally {
    rmSync(outfile, { force: true });
  }
  return JSON.parse(readFileSync(resultFile, 'utf8')) as Registered[];
}

/**
 * What the CLI does first: evaluate the config's `app()` for the stage (with `$config` the identity), giving
 * the `$app` the program is built with.
 */
async function evaluateApp(): Promise<Record<string, unknown>> {
  const stub = join(work, 'config-stub.mjs');
  writeFileSync(stub, 'export const $config = (input) => input;\n');
  const outfile = join(work, 'app.mjs');
  await esbuild.build({
    stdin: {
      contents: `import mod from ${JSON.stringify(join(root, 'sst.config.ts'))};\nconsole.log(JSON.stringify(await mod.app({ stage: ${JSON.stringify(STAGE)} })));`,
      resolveDir: root,
      sourcefile: 'app.ts',
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    inject: [stub],
    logLevel: 'silent',
  });
  const { stdout } = await exec(process.execPath, [outfile], { cwd: root });
  const app = JSON.parse(stdout) as { name: string; home: string; removal?: string; providers?: object };
  // The CLI adds the stage and the home provider, and defaults removal to `retain`.
  return {
    ...app,
    stage: STAGE,
    removal: app.removal ?? 'retain',
    providers: { [app.home]: {}, ...app.providers },
    protect: false,
  };
}
