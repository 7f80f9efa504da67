import { appendFileSync, mkdirSync } from 'node:fs';
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
  /** Identifiers the cloud minted or people chose (report id, job id), never free text. */
  ref?: string;
}

export interface OperationalLog {
  write(entry: OperationalLogEntry): void;
}

/** JSON lines appended to one file; synchronous so that an entry is on disk before the response is. */
export function createFileLog(path: string): OperationalLog {
  mkdirSync(dirname(path), { recursive: true });
  return {
    write(entry) {
      appendFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o640 });
    },
  };
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
