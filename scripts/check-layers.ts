/**
 * `npm run check:layers`: the layer rules over every import in the tree, tests included. No library
 * (edge-agent/, functions/, infra/, stats/, schemas/, client/, crypto/) imports the app (cli/), and infra/
 * imports neither the cloud (functions/) nor the agent (edge-agent/). Imports are read with TypeScript's own
 * pre-processor, which also sees `export … from` and dynamic `import('…')`. Prints each offending import and
 * exits 1 when there is one.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const LIBRARIES = ['edge-agent', 'functions', 'infra', 'stats', 'schemas', 'client', 'crypto'];

/** The top-level folders a library's files may not import, with the rule's reason. */
function forbiddenFor(library: string): { folders: string[]; why: string }[] {
  if (!LIBRARIES.includes(library)) return [];
  return [
    { folders: ['cli'], why: 'a library imports the app' },
    ...(library === 'infra'
      ? [{ folders: ['functions', 'edge-agent'], why: 'infra imports a side it serves' }]
      : []),
  ];
}

/** `file imports target: reason` for each import of `file` (a repository path) that breaks a rule. */
export function layerViolations(file: string, text: string): string[] {
  const rules = forbiddenFor(file.split('/')[0]!);
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((i) => i.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative('.', join(dirname(file), spec)))
    .flatMap((target) =>
      rules
        .filter((r) => r.folders.includes(target.split('/')[0]!))
        .map((r) => `${file} imports ${target}: ${r.why}`),
    );
}

/** The libraries' source files (tracked, or new and not ignored) under `root`, migrations left out. */
export function librarySources(root: string): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...LIBRARIES], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => /\.(ts|mts|cts|mjs|js)$/.test(f) && !f.includes('/migrations/'));
}

export function checkLayers(root: string): string[] {
  return librarySources(root).flatMap((f) => layerViolations(f, readFileSync(join(root, f), 'utf8')));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = checkLayers('.');
  for (const line of found) console.log(line);
  console.log(`${found.length} imports break the layer rules`);
  if (found.length) process.exitCode = 1;
}
