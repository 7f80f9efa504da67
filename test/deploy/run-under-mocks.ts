import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import {
  ACCOUNT,
  ESM_CJS_SHIM,
  platform,
  REGION,
  type Registered,
  root,
  SECRETS,
  STAGE,
} from './sst-context.ts';

const exec = promisify(execFile);

/** The program's imports, and how a registered resource's inputs are recorded with their secrets revealed. */
const RECORDER = `
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
`;

/** The outputs the mocks give each resource: queue URLs and ARNs carry the resource's name. */
const OUTPUTS = `
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
`;

/** The runtime's mocks in place of the Pulumi engine. */
const MOCKS = `
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
`;

/** sst.config.ts's `run()` in the platform's auto/run.ts; the registered resources go to resultFile. */
const runProgram = (resultFile: string) => `
const config = (await import(${JSON.stringify(join(root, 'sst.config.ts'))})).default;
const { run } = await import(${JSON.stringify(join(platform, 'src', 'auto', 'run.ts'))});
await pulumi.runtime.runInPulumiStack(() => run(config.run));
// Components register resources in applies that wait on the builds: the list is complete once nothing is
// left to run (as the real language host waits for the event loop to drain).
process.once('beforeExit', () => writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify(registered)));
`;

/**
 * The program `sst deploy` hands to Pulumi (sst pkg/project/run.go), with the runtime's mocks in place of the
 * engine: sst.config.ts bundled with the platform's shim injected, `aws` and `sst` imported into it, `$app` /
 * `$cli` / `$dev` defined, and its `run()` wrapped in the platform's auto/run.ts. Every registered resource
 * is written to a file; mocked outputs are recognisable (queue URLs and ARNs carry the resource's name).
 */
export async function runConfigUnderMocks(server: string, work: string): Promise<Registered[]> {
  const outfile = join(platform, `sst.config.test-${process.pid}.mjs`);
  const resultFile = join(work, 'resources.json');
  const program = [RECORDER, OUTPUTS, MOCKS, runProgram(resultFile)].join('');
  const app = await evaluateApp(work);
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
async function evaluateApp(work: string): Promise<Record<string, unknown>> {
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
