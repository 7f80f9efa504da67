import { access, constants, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JobFailure } from '../pipeline/job-failure.ts';

/**
 * Scan operator: every entry under `root` that should be a file of the run, depth-first, entries sorted by
 * name (code-unit order, not locale order, so two runs on two machines see the same sequence).
 *
 * Symlinks are followed — PACS exports often link studies into place — but each directory (by device and
 * inode) is entered once, which breaks loops and keeps a linked directory from being counted twice.
 *
 * Nothing is skipped silently: a dangling link, a subdirectory that cannot be listed, or a file that cannot
 * be opened is yielded as `{ unreadable: true }` (the pipeline counts it as 'unreadable-file'); its path is
 * not carried, so it can never end up in a count's neighbourhood. A root that is missing, not a directory
 * or cannot be listed throws JobFailure('dicom-folder-unreadable'), with a message that does not name it.
 */
export type ScanEntry = { unreadable: false; path: string } | { unreadable: true };

export async function* walkEntries(root: string): AsyncGenerator<ScanEntry> {
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(root);
  } catch {
    throw new JobFailure(
      'dicom-folder-unreadable',
      'scan: the DICOM folder does not exist or cannot be read',
    );
  }
  if (!rootStat.isDirectory())
    throw new JobFailure('dicom-folder-unreadable', 'scan: the DICOM folder is not a directory');
  const rootNames = await listDirectory(root);
  if (rootNames === undefined)
    throw new JobFailure('dicom-folder-unreadable', 'scan: the DICOM folder cannot be listed');
  const visited = new Set<string>([`${rootStat.dev}:${rootStat.ino}`]);
  yield* walkNames(root, rootNames, visited);
}

/** The readable regular files only (for callers that do not count; the pipeline uses walkEntries). */
export async function* walkFiles(root: string): AsyncGenerator<string> {
  for await (const entry of walkEntries(root)) if (!entry.unreadable) yield entry.path;
}

type Kind = 'file' | 'dir' | 'link' | 'other';

async function listDirectory(dir: string): Promise<{ name: string; kind: Kind }[] | undefined> {
  try {
    const names: { name: string; kind: Kind }[] = [];
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
    return names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return undefined;
  }
}

const canRead = (path: string) =>
  access(path, constants.R_OK).then(
    () => true,
    () => false,
  );

async function* walkNames(
  dir: string,
  names: { name: string; kind: Kind }[],
  visited: Set<string>,
): AsyncGenerator<ScanEntry> {
  for (const { name, kind } of names) {
    const path = join(dir, name);
    // A FIFO, socket or device is never opened (a FIFO would block the reader forever), but it is counted.
    if (kind === 'other') {
      yield { unreadable: true };
      continue;
    }
    if (kind === 'file') {
      yield (await canRead(path)) ? { unreadable: false, path } : { unreadable: true };
      continue;
    }
    let target: Awaited<ReturnType<typeof stat>>;
    try {
      target = await stat(path);
    } catch {
      yield { unreadable: true }; // a dangling link, or one into a place this process may not look
      continue;
    }
    if (target.isFile()) {
      yield (await canRead(path)) ? { unreadable: false, path } : { unreadable: true };
    } else if (target.isDirectory()) {
      const id = `${target.dev}:${target.ino}`;
      if (visited.has(id)) continue;
      visited.add(id);
      const inner = await listDirectory(path);
      if (inner === undefined) yield { unreadable: true };
      else yield* walkNames(path, inner, visited);
    }
  }
}
