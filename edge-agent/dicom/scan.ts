import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Scan operator: every regular file under `root`, depth-first, entries sorted by name (code-unit order, not
 * locale order, so two runs on two machines see the same sequence).
 *
 * Symlinks are followed — PACS exports often link studies into place — but each directory (by device and
 * inode) is entered once, which breaks loops and keeps a linked directory from being counted twice.
 * Unreadable subdirectories and dangling links are skipped: they hold no file the run could use. An unreadable
 * root throws, with a message that does not contain the path.
 */
export async function* walkFiles(root: string): AsyncGenerator<string> {
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(root);
  } catch {
    throw new Error('scan: the DICOM folder does not exist or cannot be read');
  }
  if (!rootStat.isDirectory()) throw new Error('scan: the DICOM folder is not a directory');
  const visited = new Set<string>([`${rootStat.dev}:${rootStat.ino}`]);
  yield* walkDirectory(root, visited);
}

async function* walkDirectory(dir: string, visited: Set<string>): AsyncGenerator<string> {
  let names: { name: string; kind: 'file' | 'dir' | 'link' | 'other' }[];
  try {
    names = [];
    for await (const entry of await opendir(dir)) {
      const kind = entry.isFile()
        ? 'file'
        : entry.isDirectory()
          ? 'dir'
          : entry.isSymbolicLink()
            ? 'link'
            : 'other';
      names.push({ name: entry.name, kind });
    }
  } catch {
    return;
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const { name, kind } of names) {
    const path = join(dir, name);
    if (kind === 'file') {
      yield path;
      continue;
    }
    if (kind !== 'dir' && kind !== 'link') continue;
    let target: Awaited<ReturnType<typeof stat>>;
    try {
      target = await stat(path);
    } catch {
      continue;
    }
    if (target.isFile()) {
      yield path;
    } else if (target.isDirectory()) {
      const id = `${target.dev}:${target.ino}`;
      if (visited.has(id)) continue;
      visited.add(id);
      yield* walkDirectory(path, visited);
    }
  }
}
