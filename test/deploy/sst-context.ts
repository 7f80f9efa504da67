import { join, resolve } from 'node:path';

/** What the emulated `sst deploy` runs with: the repository, SST's platform, the stage and its account. */
export const root = resolve(import.meta.dirname, '..', '..');
export const platform = join(root, '.sst', 'platform');
export const STAGE = 'ci';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
/** The stage's secrets (`sst secret set`), as the CLI passes them to the program. */
export const SECRETS = {
  DatabaseUrl: 'libsql://cairn-ci.example.test',
  DatabaseAuthToken: 'ci-database-token',
};

/** One resource the program registered, as the Pulumi mock monitor saw it. */
export interface Registered {
  type: string;
  name: string;
  /** With secrets in plain text; `secrets` names the inputs that were secret. */
  inputs: Record<string, unknown>;
  secrets: string[];
}
/** One handler the components asked the CLI to build (the `Runtime.Build` RPC), and what the build gave. */
export interface Built {
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

/** The banner the sst CLI puts on every ESM bundle, so bundled CommonJS finds require/__filename/__dirname. */
export const ESM_CJS_SHIM = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join('\n');
