import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * The cloud's operational log: what happened, never what was sent. Entries carry routes as patterns
 * (`/v1/models/:id`), statuses, durations and error codes — no bodies, no query values, no header values —
 * so the log can be shipped and read by anyone who runs the service.
 */
export interface OperationalLogEntry {
  time: string;
  /** 'audit': a new head of the audit chain (ref `seq:hash`), so truncating the chain can be detected. */
  event: 'request' | 'ingest' | 'startup' | 'audit';
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  code?: string;
  /** Why, as a code too: a failure's error code (`SQLITE_BUSY`), never its message. */
  reason?: string;
  /** Identifiers the cloud minted or people chose (report id, job id), never free text. */
  ref?: string;
}

export interface OperationalLog {
  write(entry: OperationalLogEntry): void;
}

export interface FileLogOptions {
  /** The file is rotated before it would grow past this. Default 10 MiB. */
  maxBytes?: number;
  /** How many rotated files (`<path>.1` newest … `<path>.<keep>` oldest) are kept. Default 5. */
  keep?: number;
}

/**
 * JSON lines appended to one file; synchronous so that an entry is on disk before the response is.
 *
 * The file is rotated by size (`<path>` → `<path>.1` → … → `<path>.<keep>`, the oldest dropped), so a
 * long-running cloud does not fill its disk. The newest audit head is written again at the top of each new
 * file: `cairn audit verify` then still has a head to check the chain against, however many files were dropped.
 */
export function createFileLog(path: string, opts: FileLogOptions = {}): OperationalLog {
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const keep = Math.max(1, opts.keep ?? 5);
  mkdirSync(dirname(path), { recursive: true });
  let size = fileSize(path);
  const append = (line: string) => {
    appendFileSync(path, line, { mode: 0o640 });
    size += Buffer.byteLength(line);
  };
  return {
    write(entry) {
      const line = `${JSON.stringify(entry)}\n`;
      const bytes = Buffer.byteLength(line);
      // Another process writing the same file may have rotated it already: trust the disk before rotating.
      if (size + bytes > maxBytes) size = fileSize(path);
      if (size > 0 && size + bytes > maxBytes) {
        // From the file, not from what this process wrote: another process may have written a newer head. The
        // file holds every head since the last rotation, and the one that rotation carried over.
        const head = newestAuditHead(path);
        rotateLogFiles(path, keep);
        size = 0;
        if (head) append(`${head.line}\n`);
      }
      append(line);
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** `<path>` → `<path>.1` → … → `<path>.<keep>`, the oldest dropped (also the agent's logs, edge-agent/agent-logs.ts). */
export function rotateLogFiles(path: string, keep: number): void {
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--)
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  renameSync(path, `${path}.1`);
}

/** An entry is a few hundred bytes: a longer run without a newline is not one (a torn or foreign file). */
const MAX_LINE = 64 * 1024;

export interface LoggedAuditHead {
  seq: number;
  hash: string;
  /** The log line that recorded it. */
  line: string;
}

/**
 * The audit head with the highest seq that a log file recorded (`ref` `seq:hash` of an 'audit' entry), or
 * null. Read in chunks: a file written before rotation existed can be larger than one string may hold. Lines
 * that do not parse (a torn last line after a crash) are not evidence of anything and are skipped.
 */
export function newestAuditHead(path: string): LoggedAuditHead | null {
  let best: LoggedAuditHead | null = null;
  const consider = (line: string) => {
    if (!line.includes('"event":"audit"')) return;
    let ref: unknown;
    try {
      ref = (JSON.parse(line) as { ref?: unknown }).ref;
    } catch {
      return;
    }
    const m = typeof ref === 'string' ? /^(\d+):([0-9a-f]{64})$/.exec(ref) : null;
    if (m && (!best || Number(m[1]) > best.seq)) best = { seq: Number(m[1]), hash: m[2] as string, line };
  };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    let rest = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let buf = Buffer.concat([rest, chunk.subarray(0, n)]);
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
        consider(buf.toString('utf8', 0, nl));
        buf = buf.subarray(nl + 1);
      }
      rest = buf.length > MAX_LINE ? Buffer.alloc(0) : Buffer.from(buf);
    }
    consider(rest.toString('utf8'));
  } finally {
    closeSync(fd);
  }
  return best;
}

/** Keeps entries in memory: for tests, and for the Lambda entry where stdout is the log. */
export function createMemoryLog(): OperationalLog & { entries: OperationalLogEntry[] } {
  const entries: OperationalLogEntry[] = [];
  return { entries, write: (entry) => void entries.push(entry) };
}

/** One JSON line per entry on stdout (CloudWatch collects it under Lambda). */
export const stdoutLog: OperationalLog = {
  write(entry) {
    process.stdout.write(`${JSON.stringify(entry)}\n`);
  },
};
