import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { root } from './sst-context.ts';

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
export function installLikeNpm(names: string[], out: string, arch: 'x64' | 'arm64'): void {
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
