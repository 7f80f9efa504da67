import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { installLikeNpm } from './install-like-npm.ts';
import { type Built, ESM_CJS_SHIM, root } from './sst-context.ts';

const NODE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/** Always external, and installed when the bundle imports them (the CLI's forceExternal). */
const FORCE_EXTERNAL = ['sharp', 'pg-native'];

interface BuildProperties {
  install?: string[] | Record<string, string>;
  banner?: string;
  format?: string;
  architecture?: string;
  esbuild?: unknown;
}

/** The handler's source file and its bundle's path in the output (dots in the file name become dashes). */
function handlerPaths(handler: string): { file: string; path: string } {
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
  return { file, path };
}

/**
 * The packages to install (`nodejs.install`, plus sharp / pg-native if the bundle imports them), written as
 * the dependencies of a package.json at the root of the output and installed there.
 */
function installPackages(
  install: Record<string, string>,
  metafile: esbuild.Metafile | undefined,
  out: string,
  architecture: string | undefined,
): void {
  const imported = Object.values(metafile?.inputs ?? {}).flatMap((i) => i.imports);
  for (const pkg of FORCE_EXTERNAL) {
    if (imported.some((i) => i.external && i.path === pkg)) install[pkg] ??= '*';
  }
  if (Object.keys(install).length === 0) return;
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
  installLikeNpm(Object.keys(dependencies), out, architecture === 'arm64' ? 'arm64' : 'x64');
}

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
export async function buildHandler(input: Record<string, unknown>, work: string): Promise<Built> {
  const handler = String(input.handler);
  const functionID = String(input.functionID);
  const properties = (input.properties ?? {}) as BuildProperties;
  if (properties.format === 'cjs') throw new Error('nodejs.format cjs is not emulated here');
  if (properties.esbuild !== undefined) throw new Error('nodejs.esbuild is not emulated here');
  // The component turns a list into { name: '*' }; the CLI has taken both forms.
  const install = Array.isArray(properties.install)
    ? Object.fromEntries(properties.install.map((name) => [name, '*']))
    : { ...properties.install };
  const { file, path } = handlerPaths(handler);
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
  if (errors.length === 0) installPackages(install, result.metafile, out, properties.architecture);
  return {
    functionID,
    handler,
    runtime: String(input.runtime),
    out,
    file: join(out, `${path}.mjs`),
    lambdaHandler: path + handler.slice(handler.lastIndexOf('.')),
    install: Object.keys(install),
    errors,
  };
}
