// Module hooks that run the CLI's TypeScript: type syntax is stripped by esbuild (a tsx dependency), and each
// file's output is cached by the hash of its path and source, so a start whose files are unchanged loads no
// compiler at all. tsx does the same but loads esbuild and its own loader on every start, which is most of
// the time `cairn --help` takes.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The settings tsc checks the code with (tsconfig.json) that change what the emitted JavaScript does.
const TRANSFORM = {
  loader: 'ts',
  format: 'esm',
  target: 'esnext',
  sourcemap: 'inline',
  tsconfigRaw: { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true } },
};
const CACHE_DIR = join(tmpdir(), `cairn-ts-${process.getuid?.() ?? 'user'}`);
const CACHE_VERSION = `1 ${JSON.stringify(TRANSFORM)}`;

/** @type {typeof import('esbuild') | undefined} */
let esbuild;
/** @type {boolean | undefined} */
let cacheUsable;

/**
 * The cache holds code this process will run, so it is used only when the folder is this user's alone: one
 * that another local user created first (or made writable) is ignored, and every file is transformed afresh.
 */
function cacheIsOurs() {
  if (cacheUsable !== undefined) return cacheUsable;
  try {
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
    const st = lstatSync(CACHE_DIR);
    cacheUsable = st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
  } catch {
    cacheUsable = false;
  }
  return cacheUsable;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256')
    .update(CACHE_VERSION)
    .update('\0')
    .update(path)
    .update('\0')
    .update(source);
  const cached = join(CACHE_DIR, `${key.digest('hex')}.mjs`);
  const useCache = cacheIsOurs();
  if (useCache) {
    try {
      return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
    } catch {
      // Not transformed yet.
    }
  }
  esbuild ??= await import('esbuild');
  const { code } = esbuild.transformSync(source, { ...TRANSFORM, sourcefile: path });
  if (useCache) {
    // Written aside and renamed: CLI processes started together (the demo's agents) never read half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, code, { mode: 0o600 });
    renameSync(partial, cached);
  }
  return { format: 'module', source: code, shortCircuit: true };
}
