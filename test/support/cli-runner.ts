import { spawn, spawnSync } from 'node:child_process';
import { CAIRN_BIN } from '../../cli/demo/cloud-process.ts';

export { CAIRN_BIN };

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The raw bytes, for tests that search them in several encodings. */
  raw: { stdout: Buffer; stderr: Buffer };
}

/**
 * Runs `cairn …` as its own process without blocking this one (servers a test runs in-process — fauxqs, a
 * cloud — keep answering). `env` is added to this process's environment; '' unsets a variable for the CLI.
 */
export function runCairn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === '') delete merged[k];
    const child = spawn(process.execPath, [CAIRN_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: merged,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('close', (status) => {
      const raw = { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
      resolve({ status, stdout: raw.stdout.toString('utf8'), stderr: raw.stderr.toString('utf8'), raw });
    });
  });
}

/** `cairn …` run to its end while this process waits (for tests with no server of their own to keep serving). */
export function runCairnSync(args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CAIRN_BIN, ...args]);
  const raw = { stdout: r.stdout, stderr: r.stderr };
  return { status: r.status, stdout: raw.stdout.toString('utf8'), stderr: raw.stderr.toString('utf8'), raw };
}
