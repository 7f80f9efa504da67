import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'serve.lock';

/** Another live process serves this data folder. */
export class DataDirInUse extends Error {
  constructor(
    dataDir: string,
    readonly pid: number,
  ) {
    super(`${dataDir} is already served by another cairn cloud (pid ${pid}); stop it or pick another --data`);
    this.name = 'DataDirInUse';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dataDir>/serve.lock` (this process's pid, created exclusively): two clouds on one folder would each
 * run ingest and race for the same queue and audit chain. A lock whose pid is gone (a crash, kill -9) is stale
 * and taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        // Only our own lock: a stale-lock takeover by another process must not be undone by us.
        if (readPid(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(path);
    if (holder !== null && alive(holder)) throw new DataDirInUse(dataDir, holder);
    rmSync(path, { force: true });
  }
  throw new Error(`${path}: could not take the lock (another cloud is starting on this folder?)`);
}

function readPid(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
