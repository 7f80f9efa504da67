import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export type PidLock = { ok: true; release: () => void } | { ok: false; holder: number };

/**
 * A lock file holding its owner's pid, for "one process per folder". Created atomically with its content
 * (written aside, then hard-linked into place), so it never exists without a pid. A lock whose process is
 * gone (a crash, kill -9) is stale and taken over; one whose process lives is refused with that pid. The
 * release removes the file only if this call created it.
 */
export function takePidLock(path: string): PidLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWithPid(path)) {
      let held = true;
      return {
        ok: true,
        release: () => {
          if (held) rmSync(path, { force: true });
          held = false;
        },
      };
    }
    const holder = readPid(path);
    if (holder !== undefined && isAlive(holder)) return { ok: false, holder };
    rmSync(path, { force: true });
  }
  throw new Error(`${path}: could not take the lock (another process keeps taking it)`);
}

function createWithPid(path: string): boolean {
  const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(aside, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** The pid in the lock file; undefined when the file vanished meanwhile or holds no pid. */
function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
