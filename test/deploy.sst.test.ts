import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { createClient } from '@libsql/client';
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
/** The stage's secrets (`sst secret set`), as the CLI passes them to the program. */
const SECRETS = { DatabaseUrl: 'libsql://cairn-ci.example.test', DatabaseAuthToken: 'ci-database-token' };

/** One resource the program registered, as the Pulumi mock monitor saw it. */
interface Registered {
  type: string;
  name: string;
  /** With secrets in plain text; `secrets` names the inputs that were secret. */
  inputs: Record<string, unknown>;
  secrets: string[];
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
  /** The packages installed into the output's node_modules. */
  install: string[];
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

/** The banner the sst CLI puts on every ESM bundle, so bundled CommonJS finds require/__filename/__dirname. */
const ESM_CJS_SHIM = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join('\n');

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
    expect(builds.map((b) => b.handler).sort()).toEqual([
      'functions/ingest/lambda.handler',
      'functions/lambda.handler',
    ]);
    const migrations = readdirSync(join(root, 'functions', 'db', 'migrations'), { recursive: true })
      .map(String)
      .filter((f) => f.includes('.'));
    expect(migrations).toEqual(expect.arrayContaining(['0000_initial.sql', join('meta', '_journal.json')]));
    for (const build of builds) {
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
    for (const build of builds) {
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
 * the handler becoming <dir>/<file>.<export>. Then, as the CLI does outside `sst dev`: the packages to install
 * (`nodejs.install`, plus sharp / pg-native if the bundle imports them) are written as the dependencies of a
 * package.json at the root of the output (each at the version the app's package.json asks for, else `*`) and
 * npm-installed there for Lambda's platform (`npm install --force --os=linux --cpu=x64`). That install is
 * emulated offline by `installLikeNpm`. The function's `copyFiles` are not the CLI's business: SST's Function
 * component adds them (and this whole output folder) to code.zip itself.
 */
async function buildHandler(input: Record<string, unknown>) {
  const handler = String(input.handler);
  const functionID = String(input.functionID);
  const properties = (input.properties ?? {}) as {
    install?: string[] | Record<string, string>;
    banner?: string;
    format?: string;
    architecture?: string;
    esbuild?: unknown;
  };
  if (properties.format === 'cjs') throw new Error('nodejs.format cjs is not emulated here');
  if (properties.esbuild !== undefined) throw new Error('nodejs.esbuild is not emulated here');
  // The component turns a list into { name: '*' }; the CLI has taken both forms.
  const install = Array.isArray(properties.install)
    ? Object.fromEntries(properties.install.map((name) => [name, '*']))
    : { ...properties.install };
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
      metafile: true,
      external: [...FORCE_EXTERNAL, ...Object.keys(install)],
      outfile: join(out, `${path}.mjs`),
      logLevel: 'silent',
      banner: {
        js: [ESM_CJS_SHIM, properties.banner ?? ''].join('\n'),
      },
    })
    .catch((err: esbuild.BuildFailure) => ({ errors: err.errors, metafile: undefined }));
  const errors = result.errors.map((e) => `${e.text} ${e.location?.file ?? ''}:${e.location?.line ?? ''}`);
  if (errors.length === 0) {
    const imported = Object.values(result.metafile?.inputs ?? {}).flatMap((i) => i.imports);
    for (const pkg of FORCE_EXTERNAL) {
      if (imported.some((i) => i.external && i.path === pkg)) install[pkg] ??= '*';
    }
    if (Object.keys(install).length > 0) {
      const app = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      const dependencies = Object.fromEntries(
        Object.entries(install).map(([name, version]) => [
          name,
          version !== '*' ? version : (app.dependencies?.[name] ?? '*'),
        ]),
      );
      writeFileSync(join(out, 'package.json'), JSON.stringify({ dependencies }));
      installLikeNpm(Object.keys(dependencies), out, properties.architecture === 'arm64' ? 'arm64' : 'x64');
    }
  }
  const lambdaHandler = path + handler.slice(handler.lastIndexOf('.'));
  builds.push({
    functionID,
    handler,
    runtime: String(input.runtime),
    out,
    file: join(out, `${path}.mjs`),
    lambdaHandler,
    install: Object.keys(install),
    errors,
  });
  return { handler: lambdaHandler, out, errors, sourcemaps: [] };
}

/** Always external, and installed when the bundle imports them (the CLI's forceExternal). */
const FORCE_EXTERNAL = ['sharp', 'pg-native'];

interface PackageJson {
  name: string;
  version: string;
  os?: string[];
  cpu?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * What `npm install --os=linux --cpu=<arch>` leaves in <out>/node_modules, without the registry: the
 * packages and their dependency closure (dependencies, required peers, and the optional dependencies that are
 * installed and fit Lambda's platform — the native binding), copied from this repository's node_modules at the
 * places Node resolves them from (nested copies stay nested). The repository's lockfile picked the versions,
 * where npm would take the newest that match; this machine is linux-x64, as Lambda's default x86_64 is.
 */
function installLikeNpm(names: string[], out: string, arch: 'x64' | 'arm64'): void {
  if (arch !== 'x64') throw new Error('nodejs.install for arm64 is not emulated here (node_modules is x64)');
  const modules = join(root, 'node_modules');
  const copied = new Set<string>();
  // npm's check of a package's `os` / `cpu`: the value among those listed (if any are), and not negated.
  const fits = (list: string[] | undefined, value: string) =>
    !list || (!list.includes(`!${value}`) && (list.every((v) => v.startsWith('!')) || list.includes(value)));
  /** Node's lookup: <dir>/node_modules/<name>, then each folder above, up to the repository. */
  const locate = (name: string, from: string): string | undefined => {
    for (let dir = from; dir.startsWith(root); dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dir === root) break;
    }
    return undefined;
  };
  const add = (name: string, from: string, optional: boolean): void => {
    const dir = locate(name, from);
    if (!dir) {
      if (optional) return;
      throw new Error(`nodejs.install: ${name} is not in node_modules (run npm ci)`);
    }
    if (copied.has(dir)) return;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    if (!fits(pkg.os, 'linux') || !fits(pkg.cpu, arch)) {
      if (optional) return;
      throw new Error(`nodejs.install: ${name} does not run on linux-${arch}`);
    }
    copied.add(dir);
    // The package without its nested node_modules: those of its dependencies that are needed come below.
    cpSync(dir, join(out, 'node_modules', relative(modules, dir)), {
      recursive: true,
      dereference: true,
      filter: (src) => !relative(dir, src).split(sep).includes('node_modules'),
    });
    for (const dep of Object.keys(pkg.dependencies ?? {})) add(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) add(dep, dir, true);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) {
      add(dep, dir, pkg.peerDependenciesMeta?.[dep]?.optional === true);
    }
  };
  for (const name of names) add(name, root, false);
}

/**
 * The files of a zip as archiver writes SST's code.zip (deflated or stored, sizes in the central directory,
 * no zip64): what Lambda unpacks into /var/task.
 */
function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (name.endsWith('/')) continue;
    // The local header repeats the name, with its own extra field.
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(data, data + compressedSize);
    const content = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : undefined;
    if (!content || content.length !== size) throw new Error(`cannot unzip ${name} (method ${method})`);
    files.set(name, content);
  }
  return files;
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
// A secret (pulumi.secret, an sst.Secret's value) reaches the monitor wrapped in this signature: the record keeps
// the plain value and where the secrets were.
const SIG = '4dabf18193072939515e22adb298388d';
const SECRET = '1b47061264138c4ac30d75fd1eb44270';
function reveal(value, path, secrets) {
  if (Array.isArray(value)) return value.map((v, i) => reveal(v, path + '[' + i + ']', secrets));
  if (value === null || typeof value !== 'object') return value;
  if (value[SIG] === SECRET) {
    secrets.push(path);
    return reveal(value.value, path, secrets);
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, reveal(v, path ? path + '.' + k : k, secrets)]),
  );
}
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
    newResource({ type, name, inputs: wrapped }) {
      const secrets = [];
      const inputs = reveal(wrapped, '', secrets);
      registered.push({ type, name, inputs, secrets });
      // Plain state: the mocks do not decide which outputs are secret.
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
      js: ESM_CJS_SHIM,
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
      env: {
        ...process.env,
        SST_SERVER: server,
        AWS_EC2_METADATA_DISABLED: 'true',
        // What `sst secret set` stored for the stage: the CLI hands secrets to the program this way.
        ...Object.fromEntries(Object.entries(SECRETS).map(([name, value]) => [`SST_SECRET_${name}`, value])),
      },
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
