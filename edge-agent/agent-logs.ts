import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rotateLogFiles } from '../infra/operational-log.ts';

/**
 * The agent's two logs, both in `<state>/logs/`, both rotated by size (`<file>.1` newest … `<file>.<keep>`):
 * - `agent.log`, the operational log: JSON lines of what the agent did — job ids (minted by the cloud), step
 *   names, reason codes, counts, durations. Nothing read from an image, a label or a path: it may be shipped to
 *   whoever runs the agent.
 * - `diagnostic.log`, for the site's IT: the same failures in the runtime's own words, which may name local
 *   files or quote a labels.csv line. It is never sent (nothing reads it but people at the site; mode 0600).
 */
export interface AgentLogs {
  event(entry: AgentLogEntry): void;
  diagnostic(line: string): void;
}

export interface AgentLogEntry {
  event: 'run-started' | 'job-started' | 'job-finished' | 'offline' | 'run-stopped';
  jobId?: string;
  status?: 'reported' | 'failed';
  /** A closed code (schemas/job-status.ts), and the step it ended in. */
  failure?: string;
  step?: string;
  cases?: number | null;
  excluded?: Record<string, number>;
  seconds?: number;
}

export interface AgentLogOptions {
  /** Each file is rotated before it would grow past this. Default 10 MiB. */
  maxBytes?: number;
  /** Rotated files kept per log. Default 5. */
  keep?: number;
}

export const agentLogDir = (stateDir: string) => join(stateDir, 'logs');

export function openAgentLogs(stateDir: string, opts: AgentLogOptions = {}): AgentLogs {
  const dir = agentLogDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const operational = rotatingFile(join(dir, 'agent.log'), opts);
  const diagnostic = rotatingFile(join(dir, 'diagnostic.log'), opts);
  const time = () => new Date().toISOString();
  return {
    event: (entry) => operational(`${JSON.stringify({ time: time(), ...entry })}\n`),
    diagnostic: (line) => diagnostic(`${time()} ${line.replace(/\n+$/, '').replace(/\n/g, '\n  ')}\n`),
  };
}

function rotatingFile(path: string, opts: AgentLogOptions): (text: string) => void {
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const keep = Math.max(1, opts.keep ?? 5);
  return (text) => {
    const size = fileSize(path);
    if (size > 0 && size + Buffer.byteLength(text) > maxBytes) rotateLogFiles(path, keep);
    appendFileSync(path, text, { mode: 0o600 });
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
